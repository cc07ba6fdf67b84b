"""Each profile with real cargo: samples using the newly pinned crates pass; ssr is ssr; pins are real."""

from __future__ import annotations

from pathlib import Path

import pytest

from rustgate.cargo.templates import load_profiles
from rustgate.cargo.toolchain import detect_toolchain
from rustgate.cargo.warm import load_warm, warm_profile
from rustgate.gates.compile import CompileGate
from rustgate.records import GateResult, Record

pytestmark = pytest.mark.cargo


def _record(crate: str, *blocks: tuple[str, str]) -> Record:
    """A record whose answer is one fenced block per (info string, body)."""
    answer = "\n".join(f"```{info}\n{body.strip()}\n```" for info, body in blocks)
    return Record.model_validate(
        {"id": f"{crate}-sample", "crate": crate, "messages": [{"role": "user", "content": "?"},
                                                                {"role": "assistant", "content": answer}]}
    )  # fmt: skip


def _check(record: Record, profile: str | None = None) -> GateResult:
    (result,) = CompileGate(profile=profile, ledger=None).check([record])
    return result


def _assert_pass(result: GateResult) -> None:
    assert result.verdict == "pass", f"{result.verdict}: {result.first_problem()}\n{result.diagnostics}"


AXUM = """
// src/main.rs
use std::time::Duration;

use askama::Template;
use axum::{body::Body, extract::Request, response::{Html, IntoResponse}, routing::get, Router};
use axum_extra::{headers::UserAgent, TypedHeader};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio_stream::StreamExt;
use tower::{limit::ConcurrencyLimitLayer, load_shed::LoadShedLayer, ServiceBuilder};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use validator::Validate;

#[derive(Template)]
#[template(path = "hello.html")]
struct Hello<'a> { name: &'a str }

#[derive(Deserialize, Validate)]
struct Signup { #[validate(length(min = 3))] name: String }

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claims { sub: String, exp: usize }

async fn hello(TypedHeader(agent): TypedHeader<UserAgent>) -> impl IntoResponse {
    let page = Hello { name: agent.as_str() }.render().unwrap_or_default();
    Html(page)
}

async fn body_len(request: Request) -> String {
    let bytes = request.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let signup = Signup { name: String::from_utf8_lossy(&bytes).into_owned() };
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &Claims { sub: signup.name.clone(), exp: 0 },
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    );
    format!("{} {:?} {}", bytes.len(), signup.validate().is_ok(), token.is_ok())
}

#[tokio::main]
async fn main() {
    let mut ticks = std::pin::pin!(tokio_stream::iter([1, 2, 3]).throttle(Duration::from_millis(1)));
    while let Some(_) = ticks.next().await {}
    let app = Router::new()
        .route("/", get(hello))
        .route("/len", axum::routing::post(body_len))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::error_handling::HandleErrorLayer::new(|_: tower::BoxError| async {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                }))
                .layer(LoadShedLayer::new())
                .layer(ConcurrencyLimitLayer::new(64)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let _io = TokioIo::new(stream);
    let _ = Body::empty();
    axum::serve(listener, app).await.unwrap();
}
"""

HELLO_HTML = "<!-- templates/hello.html -->\n<p>Hello, {{ name }}!</p>"


def test_axum_profile_carries_the_hyper_tower_and_helper_crates(warm_cache: Path) -> None:
    _assert_pass(_check(_record("axum", ("rust", AXUM), ("html", HELLO_HTML))))


LEPTOS_CSR = (
    """
// src/lib.rs
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use reactive_stores::Store;
use wasm_bindgen::JsCast;

#[derive(Store, Clone, Default)]
pub struct State { count: i32 }

#[component]
pub fn App() -> impl IntoView {
    let (count, set_count) = signal(0);
    let store = Store::new(State::default());
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
            log::info!("clicked {}", target.tag_name());
        }
        spawn_local(async move {
            TimeoutFuture::new(10).await;
            set_count.update(|n| *n += 1);
        });
    };
    let stored = move || store.count().get();
    view! { <button on:click=on_click>{count} " / " {stored}</button> }
}

// Checked: the leptos profile builds the package with `csr` on.
#[cfg(feature = "csr")]
pub fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}
""",
    """
// src/main.rs
use my_counter::App;
use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    _ = console_log::init_with_level(log::Level::Debug);
    mount_to_body(App);
}
""",
)


def test_leptos_csr_profile_carries_the_browser_crates(warm_cache: Path) -> None:
    _assert_pass(_check(_record("leptos", *(("rust", code) for code in LEPTOS_CSR))))


LEPTOS_SSR_LIB = """
// src/lib.rs
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Todo { pub id: u32, pub title: String }

#[server]
pub async fn list_todos() -> Result<Vec<Todo>, ServerFnError> {
    let headers: http::HeaderMap = leptos_axum::extract().await?;
    Ok(vec![Todo { id: headers.len() as u32, title: "write tests".into() }])
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let todos = Resource::new(|| (), |_| list_todos());
    view! {
        <Title text="todos"/>
        <Suspense fallback=|| view! { <p>"Loading..."</p> }>
            {move || todos.get().map(|todos| match todos {
                Ok(todos) => view! { <p>{todos.len()}</p> }.into_any(),
                Err(e) => view! { <p>{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body><App/></body>
        </html>
    }
}
"""

LEPTOS_SSR_MAIN = """
// src/main.rs
#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() {
    use axum::Router;
    use leptos::config::get_configuration;
    use leptos_axum::{generate_route_list, LeptosRoutes};
    use todos::{shell, App};

    let conf = get_configuration(None).unwrap();
    let leptos_options = conf.leptos_options;
    let addr = leptos_options.site_addr;
    let routes = generate_route_list(App);
    let app = Router::new()
        .leptos_routes(&leptos_options, routes, {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options);
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app.into_make_service()).await.unwrap();
}

#[cfg(not(feature = "ssr"))]
pub fn main() {}
"""


def test_leptos_ssr_profile_judges_server_functions_and_the_axum_main(warm_cache: Path) -> None:
    _assert_pass(_check(_record("leptos", ("rust", LEPTOS_SSR_LIB), ("rust", LEPTOS_SSR_MAIN)), "leptos-ssr"))


def test_ssr_code_is_compiled_only_by_the_ssr_profile(warm_cache: Path) -> None:
    # The server-only main has a type error: leptos-ssr compiles it and fails, the csr profile
    # leaves it out (as cargo would for a csr build) and passes.
    broken = LEPTOS_SSR_MAIN.replace("let addr = leptos_options.site_addr;", "let addr: u8 = leptos_options.site_addr;")
    record = _record("leptos", ("rust", LEPTOS_SSR_LIB.replace("leptos_axum::extract().await?", "Default::default()")),
                     ("rust", broken))  # fmt: skip
    ssr = _check(record, "leptos-ssr")
    assert ssr.verdict == "fail" and any(d.code == "E0308" for d in ssr.diagnostics), ssr.first_problem()
    _assert_pass(_check(record, "leptos"))


RIG = """
// src/main.rs
use base64::{prelude::BASE64_STANDARD, Engine};
use rig::image_generation::ImageGenerationModel;
use rig::loaders::PdfFileLoader;
use rig::prelude::*;
use rig::{completion::Prompt, providers::openai, Embed};
use tracing_subscriber::EnvFilter;

#[derive(Embed, serde::Serialize, Clone)]
struct Note { id: String, #[embed] text: String }

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(EnvFilter::from_default_env()).init();
    let client = openai::Client::from_env();
    let agent = client.agent(openai::GPT_4O).preamble("Be brief.").build();
    let answer = agent.prompt("Hello").await?;
    let pages = PdfFileLoader::with_glob("docs/*.pdf")?.read().into_iter().count();
    let image = client
        .image_generation_model(openai::DALL_E_2)
        .image_generation_request()
        .prompt("a castle")
        .send()
        .await?;
    let tool: Option<mcp_core::types::Tool> = None;
    let note = Note { id: "1".into(), text: answer.clone() };
    println!("{} {} {} {} {}", BASE64_STANDARD.encode(image.image), pages, note.id, note.text, tool.is_none());
    Ok(())
}
"""


def test_rig_profile_carries_tracing_base64_and_rig_features(warm_cache: Path) -> None:
    _assert_pass(_check(_record("rig", ("rust", RIG))))


RUST = """
use clap::Parser;
use rayon::prelude::*;

/// Sum the squares of the first N numbers.
#[derive(Parser)]
struct Args { #[arg(short, long, default_value_t = 10)] n: u64 }

fn main() {
    env_logger::init();
    let args = Args::parse();
    let total: u64 = (1..=args.n).into_par_iter().map(|x| x * x).sum();
    let table: indexmap::IndexMap<&str, u64> = [("total", total)].into_iter().collect();
    log::info!("{:?} {}", table, chrono::Utc::now());
}
"""


def test_rust_profile_carries_cli_and_logging_crates(warm_cache: Path) -> None:
    _assert_pass(_check(_record("rust", ("rust", RUST))))


def test_crate_names_are_exactly_what_the_compiler_links(warm_cache: Path) -> None:
    """``Profile.crate_names`` (what extraction treats as a pinned crate) is the ``--extern`` set."""
    toolchain = detect_toolchain()
    for name, profile in load_profiles().items():
        warm = load_warm(profile, toolchain)
        if warm is None:
            assert profile.on_demand, name
            continue
        externs = {arg.split("=", 1)[0] for arg in warm.argv if arg.endswith((".rmeta", ".rlib", ".so")) and "=" in arg}
        assert externs == set(profile.crate_names), name


AXUM_FULL = """
use axum::{extract::State, routing::get, Router};
use sqlx::sqlite::SqlitePoolOptions;

#[derive(sqlx::FromRow)]
struct User { id: i64, name: String }

async fn users(State(pool): State<sqlx::SqlitePool>) -> String {
    let rows: Vec<User> = sqlx::query_as("SELECT id, name FROM users").fetch_all(&pool).await.unwrap_or_default();
    rows.iter().map(|u| format!("{} {}", u.id, u.name)).collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pool = SqlitePoolOptions::new().connect("sqlite::memory:").await?;
    let manager = bb8_redis::RedisConnectionManager::new("redis://localhost")?;
    let _redis = bb8::Pool::builder().build(manager).await?;
    let app = Router::new().route("/users", get(users)).with_state(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
"""


def test_axum_full_is_warmed_on_demand_and_carries_databases(warm_cache: Path) -> None:
    profile = load_profiles()["axum-full"]
    warm_profile(profile, detect_toolchain())  # minutes, once per cache: not part of `rustgate warm`
    _assert_pass(_check(_record("axum", ("rust", AXUM_FULL)), "axum-full"))


LEPTOS_ACTIX = (
    """
// src/lib.rs
use leptos::prelude::*;

#[server]
pub async fn header_count() -> Result<usize, ServerFnError> {
    let request: actix_web::HttpRequest = leptos_actix::extract().await?;
    Ok(request.headers().len())
}

#[component]
pub fn Home() -> impl IntoView {
    let count = Resource::new(|| (), |_| header_count());
    view! {
        <Suspense fallback=|| "...">
            {move || count.get().map(|c| c.map(|n| n.to_string()).unwrap_or_default())}
        </Suspense>
    }
}
""",
    """
// src/main.rs
#[cfg(feature = "ssr")]
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    use actix_files::Files;
    use actix_web::{App, HttpServer};
    use headers_app::Home;
    use leptos::prelude::*;
    use leptos_actix::{generate_route_list, LeptosRoutes};

    let conf = get_configuration(None).unwrap();
    let addr = conf.leptos_options.site_addr;
    HttpServer::new(move || {
        let routes = generate_route_list(Home);
        let site_root = conf.leptos_options.site_root.clone();
        App::new()
            .leptos_routes(routes, || view! { <Home/> })
            .service(Files::new("/", site_root.as_ref()))
    })
    .bind(&addr)?
    .run()
    .await
}

#[cfg(not(feature = "ssr"))]
pub fn main() {}
""",
)


def test_leptos_actix_is_warmed_on_demand_and_judges_the_actix_server(warm_cache: Path) -> None:
    profile = load_profiles()["leptos-actix"]
    warm_profile(profile, detect_toolchain())
    _assert_pass(_check(_record("leptos", *(("rust", code) for code in LEPTOS_ACTIX)), "leptos-actix"))
