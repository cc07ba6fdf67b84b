"""A corpus of real-API samples with the verdict real cargo must give each.

Every API fact here was checked against the crates' own sources (axum 0.8.9, leptos 0.7.8,
rig-core 0.13.0) in the cargo registry. Bad samples are the mistakes LLMs actually make:
pre-0.8 axum, pre-0.7 leptos (``cx: Scope``), and rig methods that do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

FENCE = "```"


@dataclass(frozen=True)
class Sample:
    id: str
    crate: str
    expect: str  # verdict
    code: str | None  # an error code the diagnostics must contain, when known
    answer: str
    why: str

    def row(self) -> dict[str, object]:
        return {
            "id": self.id,
            "crate": self.crate,
            "messages": [
                {"role": "user", "content": f"Show me: {self.why}"},
                {"role": "assistant", "content": self.answer},
            ],
        }


def rust(code: str, prose: str = "Here is how:") -> str:
    return f"{prose}\n\n{FENCE}rust\n{code.strip()}\n{FENCE}\n"


AXUM = [
    Sample(
        "axum-good-path-param",
        "axum",
        "pass",
        None,
        rust("""
use axum::{extract::Path, routing::get, Router};

async fn get_user(Path(id): Path<u64>) -> String {
    format!("user {id}")
}

#[tokio::main]
async fn main() {
    let app = Router::new().route("/users/{id}", get(get_user));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
"""),
        "axum 0.8 {id} path parameters with axum::serve",
    ),
    Sample(
        "axum-good-state-json",
        "axum",
        "pass",
        None,
        rust("""
use std::sync::{Arc, Mutex};
use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
use serde::{Deserialize, Serialize};

#[derive(Clone, Default)]
struct AppState { items: Arc<Mutex<Vec<Item>>> }

#[derive(Clone, Serialize, Deserialize)]
struct Item { name: String }

async fn create(State(state): State<AppState>, Json(item): Json<Item>) -> (StatusCode, Json<Item>) {
    state.items.lock().unwrap().push(item.clone());
    (StatusCode::CREATED, Json(item))
}

pub fn app() -> Router {
    Router::new().route("/items", post(create)).with_state(AppState::default())
}
"""),
        "shared state and JSON bodies",
    ),
    Sample(
        "axum-good-native-async-extractor",
        "axum",
        "pass",
        None,
        rust("""
use axum::{extract::FromRequestParts, http::{request::Parts, StatusCode}};

pub struct ApiKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiKey {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(|v| ApiKey(v.to_owned()))
            .ok_or((StatusCode::UNAUTHORIZED, "missing x-api-key"))
    }
}
"""),
        "a custom extractor with axum 0.8's native async trait",
    ),
    Sample(
        "axum-good-error-into-response",
        "axum",
        "pass",
        None,
        rust("""
use axum::{http::StatusCode, response::{IntoResponse, Response}, Json};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
"""),
        "an error type that implements IntoResponse",
    ),
    Sample(
        "axum-good-websocket",
        "axum",
        "pass",
        None,
        rust("""
use axum::{extract::ws::{Message, WebSocket, WebSocketUpgrade}, response::Response, routing::any, Router};

async fn handler(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(handle_socket)
}

async fn handle_socket(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        if let Message::Text(text) = msg {
            let reply = format!("echo: {}", text.as_str());
            if socket.send(Message::Text(reply.into())).await.is_err() {
                return;
            }
        }
    }
}

pub fn app() -> Router {
    Router::new().route("/ws", any(handler))
}
"""),
        "a websocket echo handler",
    ),
    Sample(
        "axum-bad-server-bind",
        "axum",
        "fail",
        "E0433",
        rust("""
use axum::{routing::get, Router};
use std::net::SocketAddr;

#[tokio::main]
async fn main() {
    let app = Router::new().route("/", get(|| async { "hi" }));
    let addr = SocketAddr::from(([127, 0, 0, 1], 3000));
    axum::Server::bind(&addr).serve(app.into_make_service()).await.unwrap();
}
"""),
        "axum::Server was removed in 0.7",
    ),
    Sample(
        "axum-bad-async-trait-extractor",
        "axum",
        "fail",
        "E0432",
        rust("""
use axum::{async_trait, extract::FromRequestParts, http::{request::Parts, StatusCode}};

pub struct ApiKey(pub String);

#[async_trait]
impl<S: Send + Sync> FromRequestParts<S> for ApiKey {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiKey(parts.uri.to_string()))
    }
}
"""),
        "axum 0.8 dropped #[async_trait] for extractors",
    ),
    Sample(
        "axum-bad-ws-text-string",
        "axum",
        "fail",
        "E0308",
        rust("""
use axum::extract::ws::{Message, WebSocket};

pub async fn greet(mut socket: WebSocket) {
    let greeting: String = String::from("hello");
    let _ = socket.send(Message::Text(greeting)).await;
}
"""),
        "Message::Text holds Utf8Bytes in axum 0.8, not String",
    ),
    Sample(
        "axum-bad-json-order",
        "axum",
        "fail",
        "E0277",
        rust("""
use axum::{extract::State, routing::post, Json, Router};

#[derive(Clone)]
struct AppState;

async fn create(Json(body): Json<serde_json::Value>, State(_s): State<AppState>) -> String {
    body.to_string()
}

pub fn app() -> Router {
    Router::new().route("/", post(create)).with_state(AppState)
}
"""),
        "the body extractor must come last",
    ),
]

LEPTOS = [
    Sample(
        "leptos-good-counter",
        "leptos",
        "pass",
        None,
        rust("""
use leptos::prelude::*;

#[component]
fn Counter(initial: i32) -> impl IntoView {
    let (count, set_count) = signal(initial);
    view! {
        <button on:click=move |_| set_count.update(|n| *n += 1)>
            "Clicked " {count} " times"
        </button>
    }
}

fn main() {
    leptos::mount::mount_to_body(|| view! { <Counter initial=3/> });
}
"""),
        "a counter with leptos 0.7 signal()",
    ),
    Sample(
        "leptos-good-derived-memo",
        "leptos",
        "pass",
        None,
        rust("""
use leptos::prelude::*;

#[component]
pub fn Doubler() -> impl IntoView {
    let (value, set_value) = signal(1);
    let doubled = Memo::new(move |_| value.get() * 2);
    view! {
        <input type="number" on:input=move |ev| set_value.set(event_target_value(&ev).parse().unwrap_or(0))/>
        <p>"Double: " {move || doubled.get()}</p>
    }
}
"""),
        "memos and event_target_value",
    ),
    Sample(
        "leptos-good-router",
        "leptos",
        "pass",
        None,
        rust("""
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::use_params_map;
use leptos_router::path;

#[component]
fn Home() -> impl IntoView {
    view! { <A href="/post/1">"first post"</A> }
}

#[component]
fn Post() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    view! { <h1>"Post " {id}</h1> }
}

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| "Not found.">
                <Route path=path!("/") view=Home/>
                <Route path=path!("/post/:id") view=Post/>
            </Routes>
        </Router>
    }
}
"""),
        "routing with leptos_router 0.7",
    ),
    Sample(
        "leptos-good-local-resource",
        "leptos",
        "pass",
        None,
        rust("""
use leptos::prelude::*;

async fn load_count() -> usize {
    42
}

#[component]
pub fn Loader() -> impl IntoView {
    let count = LocalResource::new(load_count);
    view! {
        <Suspense fallback=|| view! { <p>"Loading..."</p> }>
            {move || count.get().map(|n| view! { <p>"Count: " {*n}</p> })}
        </Suspense>
    }
}
"""),
        "async data with LocalResource and Suspense",
    ),
    Sample(
        "leptos-good-list",
        "leptos",
        "pass",
        None,
        rust("""
use leptos::prelude::*;

#[component]
pub fn TodoList() -> impl IntoView {
    let (todos, set_todos) = signal(vec!["write".to_string(), "test".to_string()]);
    let add = move |_| set_todos.write().push("ship".to_string());
    view! {
        <button on:click=add>"add"</button>
        <ul>
            <For each=move || todos.get() key=|t| t.clone() let:todo>
                <li>{todo}</li>
            </For>
        </ul>
    }
}
"""),
        "keyed lists with <For/>",
    ),
    Sample(
        "leptos-bad-scope",
        "leptos",
        "fail",
        "E0425",
        rust("""
use leptos::*;

#[component]
fn Counter(cx: Scope) -> impl IntoView {
    let (count, set_count) = create_signal(cx, 0);
    view! { cx, <button on:click=move |_| set_count.update(|n| *n += 1)>{count}</button> }
}
"""),
        "leptos 0.7 removed cx: Scope",
    ),
    Sample(
        "leptos-bad-create-signal-cx",
        "leptos",
        "fail",
        None,
        rust("""
use leptos::prelude::*;

pub fn make(cx: ()) -> ReadSignal<i32> {
    let (count, _set) = create_signal(cx, 0);
    count
}
"""),
        "create_signal takes one argument in 0.7",
    ),
    Sample(
        "leptos-bad-get-untracked-name",
        "leptos",
        "fail",
        "E0599",
        rust("""
use leptos::prelude::*;

pub fn read_now() -> i32 {
    let (count, _) = signal(5);
    count.get_untracked_value()
}
"""),
        "an invented signal method",
    ),
]

RIG = [
    Sample(
        "rig-good-agent",
        "rig",
        "pass",
        None,
        rust("""
use rig::completion::Prompt;
use rig::prelude::*;
use rig::providers::openai;

#[tokio::main]
async fn main() -> Result<(), anyhow::Error> {
    let client = openai::Client::from_env();
    let agent = client
        .agent(openai::GPT_4O)
        .preamble("You are a concise assistant.")
        .temperature(0.2)
        .build();
    let answer = agent.prompt("What is Rust?").await?;
    println!("{answer}");
    Ok(())
}
"""),
        "an agent with a preamble",
    ),
    Sample(
        "rig-good-tool",
        "rig",
        "pass",
        None,
        rust("""
use rig::completion::ToolDefinition;
use rig::tool::Tool;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
pub struct AddArgs { x: i32, y: i32 }

#[derive(Debug, thiserror::Error)]
#[error("math error")]
pub struct MathError;

#[derive(Deserialize, Serialize)]
pub struct Adder;

impl Tool for Adder {
    const NAME: &'static str = "add";
    type Error = MathError;
    type Args = AddArgs;
    type Output = i32;

    async fn definition(&self, _prompt: String) -> ToolDefinition {
        ToolDefinition {
            name: "add".to_string(),
            description: "Add x and y".to_string(),
            parameters: json!({
                "type": "object",
                "properties": { "x": { "type": "number" }, "y": { "type": "number" } }
            }),
        }
    }

    async fn call(&self, args: Self::Args) -> Result<Self::Output, Self::Error> {
        Ok(args.x + args.y)
    }
}
"""),
        "a tool implementing rig::tool::Tool",
    ),
    Sample(
        "rig-good-agent-with-tool",
        "rig",
        "pass",
        None,
        rust("""
use rig::completion::{Prompt, ToolDefinition};
use rig::prelude::*;
use rig::providers::openai;
use rig::tool::Tool;
use serde::Deserialize;

#[derive(Deserialize)]
struct Args { text: String }

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

struct Shout;

impl Tool for Shout {
    const NAME: &'static str = "shout";
    type Error = Never;
    type Args = Args;
    type Output = String;

    async fn definition(&self, _prompt: String) -> ToolDefinition {
        ToolDefinition {
            name: Self::NAME.to_string(),
            description: "Upper-case text".into(),
            parameters: serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}}),
        }
    }

    async fn call(&self, args: Args) -> Result<String, Never> {
        Ok(args.text.to_uppercase())
    }
}

pub async fn run() -> anyhow::Result<String> {
    let agent = openai::Client::from_env().agent("gpt-4o").preamble("Use tools.").tool(Shout).build();
    Ok(agent.prompt("shout hello").await?)
}
"""),
        "an agent that can call a tool",
    ),
    Sample(
        "rig-good-extractor",
        "rig",
        "pass",
        None,
        rust("""
use rig::prelude::*;
use rig::providers::openai;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Person {
    pub name: Option<String>,
    pub age: Option<u8>,
}

pub async fn extract(text: &str) -> anyhow::Result<Person> {
    let client = openai::Client::from_env();
    let extractor = client.extractor::<Person>("gpt-4o").build();
    Ok(extractor.extract(text).await?)
}
"""),
        "structured extraction",
    ),
    Sample(
        "rig-good-embeddings",
        "rig",
        "pass",
        None,
        rust("""
use rig::embeddings::EmbeddingsBuilder;
use rig::prelude::*;
use rig::providers::openai::{self, TEXT_EMBEDDING_3_SMALL};
use rig::vector_store::in_memory_store::InMemoryVectorStore;
use rig::vector_store::VectorStoreIndex;
use rig::Embed;
use serde::{Deserialize, Serialize};

#[derive(Embed, Clone, Debug, Serialize, Deserialize, Eq, PartialEq, Default)]
struct Doc {
    id: String,
    #[embed]
    text: String,
}

pub async fn search(query: &str) -> anyhow::Result<Vec<(f64, String, Doc)>> {
    let client = openai::Client::from_env();
    let model = client.embedding_model(TEXT_EMBEDDING_3_SMALL);
    let embeddings = EmbeddingsBuilder::new(model.clone())
        .document(Doc { id: "1".into(), text: "Rust is fast".into() })?
        .build()
        .await?;
    let store = InMemoryVectorStore::from_documents(embeddings);
    let index = store.index(model);
    Ok(index.top_n::<Doc>(query, 1).await?)
}
"""),
        "embeddings into an in-memory vector store",
    ),
    Sample(
        "rig-bad-system-prompt",
        "rig",
        "fail",
        "E0599",
        rust("""
use rig::prelude::*;
use rig::providers::openai;

pub fn build() {
    let client = openai::Client::from_env();
    let _agent = client.agent("gpt-4o").system_prompt("You are helpful.").build();
}
"""),
        "rig has preamble(), not system_prompt()",
    ),
    Sample(
        "rig-bad-with-temperature",
        "rig",
        "fail",
        "E0599",
        rust("""
use rig::prelude::*;
use rig::providers::openai;

pub fn build() {
    let client = openai::Client::from_env();
    let _agent = client.agent("gpt-4o").preamble("hi").with_temperature(0.5).build();
}
"""),
        "rig has temperature(), not with_temperature()",
    ),
    Sample(
        "rig-bad-missing-prelude",
        "rig",
        "fail",
        "E0599",
        rust("""
use rig::providers::openai;

pub fn build() {
    let client = openai::Client::new("sk-test");
    let _agent = client.agent("gpt-4o").preamble("hi").build();
}
"""),
        "rig 0.13 needs rig::prelude::* for agent()",
    ),
    Sample(
        "rig-bad-chat-method",
        "rig",
        "fail",
        "E0599",
        rust("""
use rig::prelude::*;
use rig::providers::openai;

pub async fn ask() -> String {
    let agent = openai::Client::from_env().agent("gpt-4o").build();
    agent.complete_prompt("hello").await.unwrap()
}
"""),
        "an invented completion method",
    ),
]

RUST = [
    Sample(
        "rust-good-iter",
        "rust",
        "pass",
        None,
        rust("""
use itertools::Itertools;

pub fn words(text: &str) -> String {
    text.split_whitespace().map(str::to_lowercase).unique().sorted().join(",")
}
"""),
        "itertools",
    ),
    Sample(
        "rust-good-regex-main",
        "rust",
        "pass",
        None,
        rust("""
use regex::Regex;

fn main() {
    let re = Regex::new(r"(\\d+)-(\\d+)").unwrap();
    for caps in re.captures_iter("1-2 3-4") {
        println!("{} {}", &caps[1], &caps[2]);
    }
}
"""),
        "regex captures",
    ),
    Sample(
        "rust-bad-borrow",
        "rust",
        "fail",
        "E0502",
        rust("""
pub fn push_while_borrowed() {
    let mut v = vec![1, 2, 3];
    let first = &v[0];
    v.push(4);
    println!("{first}");
}
"""),
        "the borrow checker",
    ),
    Sample(
        "rust-multi-file",
        "rust",
        "pass",
        None,
        "Split in two files:\n\n```rust\n// src/lib.rs\npub mod shapes;\npub use shapes::area;\n```\n\n"
        "```rust\n// src/shapes.rs\npub fn area(w: f64, h: f64) -> f64 { w * h }\n```\n",
        "a crate of two files",
    ),
]

HOSTILE = [
    Sample(
        "hostile-env-secret",
        "rust",
        "fail",
        None,
        rust("""
pub const LEAK: &str = env!("RUSTGATE_TEST_SECRET");
"""),
        "reads a secret from the environment at compile time",
    ),
    Sample(
        "hostile-option-env",
        "rust",
        "pass",
        None,
        rust("""
pub const LEAK: Option<&str> = option_env!("RUSTGATE_TEST_SECRET");
pub fn leaked() -> bool { LEAK.is_some() }
"""),
        "option_env! must see nothing",
    ),
    Sample(
        "hostile-host-include",
        "rust",
        "rejected",
        None,
        rust("""
pub const PASSWD: &str = include_str!("/etc/passwd");
"""),
        "includes a host file",
    ),
    Sample(
        "hostile-relative-escape",
        "rust",
        "rejected",
        None,
        rust("""
pub const CFG: &[u8] = include_bytes!("../../../../root/.cargo/credentials.toml");
"""),
        "escapes the crate with ..",
    ),
    Sample(
        "hostile-dev-zero",
        "rust",
        "rejected",
        None,
        rust("""
pub const ZERO: &[u8] = include_bytes!("/dev/zero");
"""),
        "includes /dev/zero",
    ),
    Sample(
        "hostile-computed-include",
        "rust",
        "rejected",
        None,
        rust("""
pub const HOME: &str = include_str!(concat!(env!("HOME"), "/.bashrc"));
"""),
        "computes an include path",
    ),
    Sample(
        "hostile-path-attr",
        "rust",
        "rejected",
        None,
        rust("""
#[path = "/etc/hostname"]
mod host;
"""),
        "points a module at a host file",
    ),
    Sample(
        "hostile-build-script",
        "rust",
        "pass",
        None,
        '```rust\n// build.rs\nfn main() { std::fs::write("/tmp/rustgate-pwned", "x").unwrap(); }\n```\n\n'
        "```rust\n// src/lib.rs\npub fn ok() -> u8 { 1 }\n```\n",
        "ships a build.rs that must never run",
    ),
    Sample(
        "hostile-extra-dependency",
        "rust",
        "rejected",
        "RG-CRATE",
        'Add this:\n\n```toml\n[dependencies]\nevil-crate = "1"\n```\n\n' + rust("pub fn f() { evil_crate::run(); }"),
        "uses a dependency outside the pins",
    ),
    Sample(
        "hostile-unused-extra-dependency",
        "rust",
        "pass",
        None,
        'Add this:\n\n```toml\n[dependencies]\nevil-crate = "1"\n```\n\n' + rust("pub fn f() {}"),
        "declares a dependency outside the pins that the code never uses: never fetched, noted",
    ),
    Sample(
        "hostile-no-code",
        "rust",
        "rejected",
        None,
        "Just use a HashMap; no code needed.",
        "an answer with no Rust code",
    ),
    Sample(
        "hostile-macro-bomb",
        "rust",
        "timeout",
        None,
        rust("""
macro_rules! bomb {
    () => { 1 };
    ($x:tt $($rest:tt)*) => { bomb!($($rest)*) + bomb!($($rest)*) };
}
pub const N: u64 = bomb!(a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a);
"""),
        "an exponential macro expansion",
    ),
]

LIB_BIN_MAIN = "```rust\n// src/main.rs\nuse shop::{total, Item};\n\nfn main() {\n{body}\n}\n```\n"
LIB_BIN_LIB = (
    "```rust\n// src/lib.rs\npub struct Item { pub cents: u64 }\n\n"
    "pub fn total(items: &[Item]) -> u64 { items.iter().map(|i| i.cents).sum() }\n```\n"
)

# Answers laid out as a package with both src/lib.rs and src/main.rs: the binary is checked
# against the library under the name main.rs uses for it (the batch cross-check sees the lib only).
LIB_BIN = [
    Sample(
        "rust-lib-bin-good",
        "rust",
        "pass",
        None,
        LIB_BIN_LIB + LIB_BIN_MAIN.replace("{body}", '    println!("{}", total(&[Item { cents: 5 }]));'),
        "a package with a library and a binary",
    ),
    Sample(
        "rust-lib-bin-bad-main",
        "rust",
        "fail",
        "E0308",
        LIB_BIN_LIB + LIB_BIN_MAIN.replace("{body}", "    let t: String = total(&[Item { cents: 5 }]);"),
        "the binary misuses its library",
    ),
]

ALL = AXUM + LEPTOS + RIG + RUST + LIB_BIN + HOSTILE
