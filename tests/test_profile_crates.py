"""Crates real axum and leptos projects use, pinned in the web profiles (issue 19, item 9).

Each crate added to a profile gets an answer written the way its docs teach it, which must
pass under real rustc, and a near twin with the mistake people make with that crate, which
must fail. Every API used here was checked in the crate's source at the pinned version
(~/.cargo/registry/src): utoipa 5.5.0 + utoipa-axum 0.2.0, tower-sessions 0.14.0, config
0.15.27, serde_with 3.25.0, strum 0.27.2, mime_guess 2.0.5, reqwest-eventsource 0.6.0 (with
eventsource-stream 0.2.3: what axum's own sse example tests with), leptos-use 0.15.10; and the
crates counted in 48 real projects' manifests (docs/benchmarks.md): tracing-appender 0.2.5,
sea-orm 1.1.20, serde-wasm-bindgen 0.6.5, jsonwebtoken 9.3.1 (leptos-ssr), dotenv 0.15.0 and
serde_yaml 0.9.34 (rig).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from corpus import Sample, rust

from rustgate.gates.compile import CompileGate
from rustgate.records import Record

TEMPLATES = Path(__file__).resolve().parent.parent / "cargo_templates"

UTOIPA = """
use axum::Json;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Serialize, ToSchema)]
struct User {
    id: u64,
    name: String,
}

#[utoipa::path(get, path = "/users/{id}", params(("id" = u64, Path)), responses((status = 200, body = User)))]
async fn get_user(axum::extract::Path(id): axum::extract::Path<u64>) -> Json<User> {
    Json(User { id, name: "ada".into() })
}

#[derive(OpenApi)]
#[openapi(info(title = "users"))]
struct ApiDoc;

pub fn app() -> (axum::Router, String) {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi()).routes(routes!(get_user)).split_for_parts();
    (router, api.to_pretty_json().unwrap())
}
"""

SESSIONS = """
use axum::{routing::get, Router};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

async fn visits(session: Session) -> String {
    let seen: usize = session.get("seen").await.unwrap().unwrap_or(0);
    session.insert("seen", seen + 1).await.unwrap();
    format!("visit number {}", seen + 1)
}

pub fn app() -> Router {
    let layer = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    Router::new().route("/", get(visits)).layer(layer)
}
"""

CONFIG = """
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Settings {
    pub port: u16,
    pub database_url: String,
}

pub fn load() -> Result<Settings, config::ConfigError> {
    config::Config::builder()
        .set_default("port", 3000)?
        .add_source(config::File::with_name("settings").required(false))
        .add_source(config::Environment::with_prefix("APP"))
        .build()?
        .try_deserialize()
}
"""

SERDE_WITH = """
use serde::{Deserialize, Serialize};
use serde_with::{serde_as, DisplayFromStr};

#[serde_as]
#[derive(Serialize, Deserialize)]
pub struct Query {
    #[serde_as(as = "DisplayFromStr")]
    pub page: u32,
}
"""

STRUM = """
use std::str::FromStr;
use strum::{Display, EnumString};

#[derive(Debug, PartialEq, Display, EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    Admin,
    ReadOnly,
}

pub fn parse(text: &str) -> Option<Role> {
    Role::from_str(text).ok()
}
"""

MIME = """
pub fn content_type(path: &str) -> mime::Mime {
    mime_guess::from_path(path).first_or_octet_stream()
}
"""

EVENTSOURCE = """
use futures::StreamExt;
use reqwest_eventsource::{Event, EventSource};

pub async fn first_message(url: &str) -> Option<String> {
    let mut source = EventSource::get(url);
    while let Some(event) = source.next().await {
        match event {
            Ok(Event::Open) => continue,
            Ok(Event::Message(message)) => return Some(message.data),
            Err(_) => return None,
        }
    }
    None
}
"""

LEPTOS_USE = """
use leptos::prelude::*;
use leptos_use::{use_mouse, UseMouseReturn};

#[component]
pub fn Pointer() -> impl IntoView {
    let UseMouseReturn { x, y, .. } = use_mouse();
    view! { <p>{move || format!("{:.0}, {:.0}", x.get(), y.get())}</p> }
}
"""

APPENDER = """
pub fn init_logs() -> tracing_appender::non_blocking::WorkerGuard {
    let file = tracing_appender::rolling::daily("logs", "app.log");
    let (writer, guard) = tracing_appender::non_blocking(file);
    tracing_subscriber::fmt().with_writer(writer).init();
    guard
}
"""

SEA_ORM = """
use sea_orm::{Database, DatabaseConnection, DbErr};

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = Database::connect(url).await?;
    db.ping().await?;
    Ok(db)
}
"""

SERDE_WASM = """
use leptos::prelude::*;
use serde::Serialize;
use wasm_bindgen::JsValue;

#[derive(Serialize)]
struct Point {
    x: i32,
    y: i32,
}

pub fn to_js() -> Result<JsValue, serde_wasm_bindgen::Error> {
    serde_wasm_bindgen::to_value(&Point { x: 1, y: 2 })
}

#[component]
pub fn Shown() -> impl IntoView {
    view! { <p>{format!("{:?}", to_js().is_ok())}</p> }
}
"""

JWT_SSR = """
#[cfg(feature = "ssr")]
use jsonwebtoken::{encode, EncodingKey, Header};
use leptos::prelude::*;
use serde::Serialize;

#[derive(Serialize)]
struct Claims {
    sub: String,
    exp: usize,
}

#[server]
pub async fn token(user: String) -> Result<String, ServerFnError> {
    let claims = Claims { sub: user, exp: 2_000_000_000 };
    Ok(encode(&Header::default(), &claims, &EncodingKey::from_secret(b"secret"))?)
}
"""

RIG_CONFIG = """
use serde::Deserialize;

#[derive(Deserialize)]
pub struct AgentConfig {
    pub model: String,
    pub preamble: String,
}

pub fn load(text: &str) -> AgentConfig {
    dotenv::dotenv().ok();
    let config: AgentConfig = serde_yaml::from_str(text).expect("valid YAML");
    let _client = rig::providers::openai::Client::new(&std::env::var("OPENAI_API_KEY").unwrap_or_default());
    config
}
"""


def pair(
    name: str, crate: str, code: str, why: str, mistake: tuple[str, str], error: str | None, wrong: str
) -> list[Sample]:
    """The answer as the crate's docs teach it (``pass``), and its twin with ``mistake`` made (``fail``)."""
    old, new = mistake
    assert old in code, (name, old)
    return [
        Sample(name, crate, "pass", None, rust(code), why),
        Sample(f"{name}-twin", crate, "fail", error, rust(code.replace(old, new)), wrong),
    ]


SAMPLES = [
    *pair("utoipa", "axum", UTOIPA, "an OpenAPI document from axum handlers", ("to_pretty_json", "to_json_pretty"),
          "E0599", "utoipa's OpenApi has to_pretty_json, not to_json_pretty"),
    *pair("sessions", "axum", SESSIONS, "a visit counter in a tower-sessions session",
          ('get("seen").await', 'get("seen")'), None,
          "Session::get is async in tower-sessions 0.14: without .await there is no unwrap"),
    *pair("config", "axum", CONFIG, "settings from a file and the environment", ("try_deserialize", "deserialize"),
          "E0599", "config 0.15 deserializes with try_deserialize"),
    *pair("serde-with", "axum", SERDE_WITH, "a number read from a string field", ("#[serde_as]\n", ""), None,
          "serde_as on a field needs #[serde_as] on the struct"),
    *pair("strum", "axum", STRUM, "an enum parsed from and shown as snake_case text",
          ("use std::str::FromStr;\n", ""), "E0599", "from_str needs the FromStr trait in scope"),
    *pair("mime", "axum", MIME, "the content type of a file name", ("first_or_octet_stream()", "first()"), "E0308",
          "first() is an Option<Mime>"),
    *pair("eventsource", "axum", EVENTSOURCE, "the first server-sent event of a stream",
          ("EventSource::get(url)", "EventSource::new(reqwest::Client::new().get(url))"), "E0599",
          "EventSource::new returns a Result (the request may not be clonable): it is not a stream"),
    *pair("leptos-use", "leptos", LEPTOS_USE, "the mouse position with leptos-use",
          ("let UseMouseReturn { x, y, .. } = use_mouse();", "let (x, y) = use_mouse();"), "E0308",
          "use_mouse returns a UseMouseReturn struct, not a tuple"),
    *pair("tracing-appender", "axum", APPENDER, "daily log files written off the request path",
          ('daily("logs", "app.log")', 'daily("logs/app.log")'), "E0061",
          "rolling::daily takes a folder and a file prefix"),
    *pair("sea-orm", "axum-full", SEA_ORM, "a sea-orm connection that is checked once",
          ("Database::connect(url).await?", "Database::connect(url)?"), "E0277",
          "Database::connect is async: its future has no `?`"),
    *pair("serde-wasm-bindgen", "leptos", SERDE_WASM, "a Rust struct handed to JavaScript",
          ("Result<JsValue, serde_wasm_bindgen::Error>", "JsValue"), "E0308", "to_value returns a Result"),
    *pair("jsonwebtoken-ssr", "leptos-ssr", JWT_SSR, "a signed token from a server function",
          ("EncodingKey::from_secret", "EncodingKey::new"), "E0599", "an HMAC key is made with from_secret"),
    *pair("rig-config", "rig", RIG_CONFIG, "an agent's settings from YAML and the environment",
          ("serde_yaml::from_str(text)", "serde_yaml::parse(text)"), "E0425", "serde_yaml reads with from_str"),
]  # fmt: skip


def test_every_crate_added_to_a_profile_has_a_passing_answer_and_a_failing_twin() -> None:
    passing = {s.id for s in SAMPLES if s.expect == "pass"}
    assert {f"{s.id}-twin" for s in SAMPLES if s.expect == "pass"} == {s.id for s in SAMPLES} - passing


@pytest.mark.cargo
def test_answers_using_the_added_crates_get_the_verdict_real_rustc_gives(warm_cache: Path) -> None:
    records = [Record.model_validate(s.row()) for s in SAMPLES]
    results = CompileGate().check(records)
    got = {s.id: (r.verdict, [d.code for d in r.diagnostics], r.reason) for s, r in zip(SAMPLES, results, strict=True)}
    wrong = {s.id: got[s.id] for s in SAMPLES if got[s.id][0] != s.expect}
    assert not wrong, wrong
    for sample in SAMPLES:
        if sample.code is not None:
            assert sample.code in got[sample.id][1], (sample.id, got[sample.id])


# The basics every web profile pins (issue 19, item 9), and where each added crate lives.
WEB_BASICS = {"http", "url", "reqwest", "dotenvy", "mime_guess", "strum", "serde_with"}
WEB_PROFILES = ("axum", "axum-full", "leptos-ssr")


def _dependencies(profile: str) -> dict[str, object]:
    return dict(tomllib.loads((TEMPLATES / profile / "Cargo.toml").read_text())["dependencies"])


@pytest.mark.parametrize("profile", WEB_PROFILES)
def test_sibling_web_profiles_pin_the_same_basic_crates(profile: str) -> None:
    missing = WEB_BASICS - set(_dependencies(profile))
    assert not missing, f"{profile} lacks {sorted(missing)}"


def test_the_added_crates_are_pinned_exactly_and_locked() -> None:
    wanted = {
        "axum": {"utoipa", "utoipa-axum", "tower-sessions", "config", "eventsource-stream", "reqwest-eventsource"},
        "axum-full": {"utoipa", "utoipa-axum", "tower-sessions", "config", "eventsource-stream", "reqwest-eventsource"},
        "leptos": {"leptos-use", "serde-wasm-bindgen"},
        "leptos-ssr": {"leptos-use", "config", "jsonwebtoken", "base64", "argon2", "sha2", "validator", "time"},
        "leptos-hydrate": {"js-sys", "gloo-timers", "serde-wasm-bindgen"},
        "rig": {"dotenv", "serde_yaml", "pdf-extract"},
    }
    wanted["axum"] |= {"tracing-appender", "regex", "toml"}
    wanted["axum-full"] |= {"tracing-appender", "regex", "toml", "sea-orm", "lettre"}
    for profile, crates in wanted.items():
        deps = _dependencies(profile)
        lock = (TEMPLATES / profile / "Cargo.lock").read_text()
        for crate in crates:
            spec = deps.get(crate)
            version = spec if isinstance(spec, str) else (spec or {}).get("version")  # type: ignore[union-attr]
            assert isinstance(version, str) and version.startswith("="), (profile, crate, spec)
            assert f'name = "{crate}"\nversion = "{version[1:]}"' in lock, (profile, crate)
