"""The run tier on framework answers (issue 21, item 3): axum 0.7 route syntax that compiles and
panics at startup under the pinned axum 0.8, a handler that panics on request, a server that
runs fine, a rig program that calls a provider (inconclusive), a leptos csr app (not run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from run_helpers import check, main_rs, tier

from rustgate.cargo.templates import load_profiles
from rustgate.cargo.toolchain import detect_toolchain
from rustgate.cargo.warm import warm_profile

pytestmark = pytest.mark.cargo


@pytest.fixture(scope="module")
def axum_build(warm_cache: Path) -> Path:
    warm_profile(load_profiles()["axum"], detect_toolchain(), codegen=True)
    return warm_cache


def _server(routes: str, handlers: str = "") -> str:
    return f"""
use axum::{{routing::get, Router}};

async fn hello() -> &'static str {{
    "hello"
}}
{handlers}
#[tokio::main]
async fn main() {{
    let app = Router::new(){routes};
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}}
"""


def test_axum_07_route_syntax_panics_at_startup_and_the_08_twins_run(axum_build: Path) -> None:
    old = {
        "colon": ('.route("/users/:id", get(hello))', "must not start with `:`"),
        "star": ('.route("/files/*path", get(hello))', "must not start with `*`"),
        "overlap": ('.route("/a", get(hello)).route("/a", get(hello))', "Overlapping method route"),
        "nest_root": ('.nest("/", Router::new().route("/a", get(hello)))', "Nesting at the root"),
    }
    new = {
        "colon": '.route("/users/{id}", get(hello))',
        "star": '.route("/files/{*path}", get(hello))',
        "overlap": '.route("/a", get(hello).post(hello))',
        "nest_root": '.merge(Router::new().route("/a", get(hello)))',
    }
    records = [main_rs(f"old-{k}", _server(r), "axum") for k, (r, _) in old.items()]
    records += [main_rs(f"new-{k}", _server(r), "axum") for k, r in new.items()]
    results = check(records, tiers=("compile", "run"))
    for (name, (_, message)), result in zip(old.items(), results[: len(old)], strict=True):
        assert tier(result, "compile")["verdict"] == "pass", (name, result.reason)  # compiles cleanly...
        assert result.verdict == "fail", (name, result.reason)  # ...and panics the moment it starts
        assert message in (result.reason or ""), (name, result.reason)
    for name, result in zip(new, results[len(old) :], strict=True):
        assert result.verdict == "pass", (name, result.reason)
        assert tier(result, "run")["runs"][0]["running"] is True  # type: ignore[index]


def test_a_handler_that_panics_on_request_fails_and_a_404_does_not(axum_build: Path) -> None:
    boom = "async fn boom() -> String {\n    let v: Vec<String> = Vec::new();\n    v[0].clone()\n}\n"
    panics, fine, missing = check(
        [
            main_rs("boom", _server('.route("/", get(boom))', boom), "axum"),
            main_rs("fine", _server('.route("/", get(hello)).route("/health", get(hello))'), "axum"),
            main_rs("404", _server('.route("/only", get(hello))'), "axum"),
        ],
        tiers=("compile", "run"),
    )
    assert panics.verdict == "fail" and "index out of bounds" in (panics.reason or ""), panics.reason
    assert panics.diagnostics[0].code == "RG-PANIC"
    assert fine.verdict == "pass", fine.reason
    requests = tier(fine, "run")["runs"][0]["requests"]  # type: ignore[index]
    assert requests == [{"path": "/", "status": 200}, {"path": "/health", "status": 200}]
    assert missing.verdict == "pass", missing.reason
    assert tier(missing, "run")["runs"][0]["requests"][0] == {"path": "/", "status": 404}  # type: ignore[index]


def test_a_leptos_csr_app_is_not_run(warm_cache: Path) -> None:
    app = """
use leptos::prelude::*;

#[component]
fn App() -> impl IntoView {
    let (count, set_count) = signal(0);
    view! { <button on:click=move |_| set_count.update(|n| *n += 1)>{count}</button> }
}

fn main() {
    mount_to_body(App);
}
"""
    (csr,) = check([main_rs("csr", app, "leptos")], tiers=("compile", "run"))
    assert csr.verdict == "pass", csr.reason
    run = tier(csr, "run")
    assert run["verdict"] == "not applicable" and "browser" in str(run["reason"])


def _upstream_rig_example(name: str) -> str:
    """An example of the pinned rig-core, as its authors wrote it (from cargo's registry)."""
    registry = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "registry" / "src"
    found = sorted(registry.glob(f"*/rig-core-{load_profiles()['rig'].locked['rig-core']}/examples/{name}"))
    if not found:
        pytest.skip("the pinned rig-core's sources are not in cargo's registry")
    return found[0].read_text(encoding="utf-8")


def test_a_rig_program_that_calls_a_provider_is_inconclusive_never_fail(warm_cache: Path) -> None:
    warm_profile(load_profiles()["rig"], detect_toolchain(), codegen=True)
    program = _upstream_rig_example("agent.rs")  # calls OpenAI: the sandbox has no network
    assert "OPENAI_API_KEY" in program and ".prompt(" in program
    broken = """
use rig::prelude::*;
use rig::providers;

fn main() {
    let client = providers::openai::Client::new("sk-none");
    let _agent = client.agent("gpt-4o").preamble("You are terse.").build();
    let retries: Vec<u32> = Vec::new();
    assert!(!retries.is_empty(), "the agent needs a retry budget");
}
"""
    calls, own_bug = check(
        [main_rs("rig", program, "rig"), main_rs("rig-bug", broken, "rig")], tiers=("compile", "run")
    )
    assert calls.verdict == "inconclusive", calls.reason
    assert calls.diagnostics[0].code == "RG-OUTSIDE"
    assert own_bug.verdict == "fail" and "retry budget" in (own_bug.reason or ""), own_bug.reason
