"""Crates real axum and leptos projects use, pinned in the web profiles (issue 19, item 9).

Each crate added to a profile gets an answer written the way its docs teach it, which must
pass under real rustc, and a near twin with the mistake people make with that crate, which
must fail. Every API used here was checked in the crate's source at the pinned version
(~/.cargo/registry/src): utoipa 5.5.0 + utoipa-axum 0.2.0, tower-sessions 0.14.0, config
0.15.27, serde_with 3.25.0, strum 0.27.2, mime_guess 2.0.5, reqwest-eventsource 0.6.0 (with
eventsource-stream 0.2.3: what axum's own sse example tests with), leptos-use 0.15.10.
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
        "leptos": {"leptos-use"},
        "leptos-ssr": {"leptos-use", "config"},
    }
    for profile, crates in wanted.items():
        deps = _dependencies(profile)
        lock = (TEMPLATES / profile / "Cargo.lock").read_text()
        for crate in crates:
            spec = deps.get(crate)
            version = spec if isinstance(spec, str) else (spec or {}).get("version")  # type: ignore[union-attr]
            assert isinstance(version, str) and version.startswith("="), (profile, crate, spec)
            assert f'name = "{crate}"\nversion = "{version[1:]}"' in lock, (profile, crate)
