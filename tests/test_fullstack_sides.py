"""A leptos fullstack answer is compiled as the server and, its library again, as the client."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from answer_shapes import SHAPES

from rustgate.cargo.extract import CrateSource, extract_crate
from rustgate.cargo.isolation import choose_isolation
from rustgate.cargo.sides import SERVER_ONLY, client_source
from rustgate.cargo.templates import TemplateError, built_in_profiles, check_clients, choose_profile, load_profiles
from rustgate.cargo.toolchain import detect_toolchain
from rustgate.gates.compile import CompileGate
from rustgate.records import GateResult, Record

FULLSTACK = [s for s in SHAPES if s.rule == "7"]
BUILT_INS = built_in_profiles()
SERVER_ONLY_CRATES = {"axum", "tokio", "tower", "tower-http", "sqlx", "leptos_axum"}


def _records() -> list[Record]:
    return [Record.model_validate(s.row()) for s in FULLSTACK]


def test_the_ssr_profile_names_a_client_that_has_none_of_the_server_crates() -> None:
    ssr, client = BUILT_INS["leptos-ssr"], BUILT_INS["leptos-hydrate"]
    assert ssr.client == "leptos-hydrate" and not client.client
    assert not SERVER_ONLY_CRATES & set(client.requirements)
    assert set(ssr.requirements) >= SERVER_ONLY_CRATES
    for profile, side in ((ssr, "ssr"), (client, "hydrate")):
        features = f'features = ["{side}", "nonce", "islands"]'
        assert f'leptos = {{ version = "=0.7.8", {features} }}' in profile.manifest_text, profile.name
    # The client profile is never chosen for an answer by itself.
    assert choose_profile("leptos", {"leptos", "leptos_axum"}, BUILT_INS) == "leptos-ssr"
    assert choose_profile(None, {"leptos", "wasm_bindgen"}, BUILT_INS) != "leptos-hydrate"


def test_a_client_must_be_another_profile_without_a_client() -> None:
    ssr = BUILT_INS["leptos-ssr"]
    check_clients(BUILT_INS)
    for bad in ("no-such-profile", "leptos-ssr"):
        with pytest.raises(TemplateError, match="client profile"):
            check_clients({**BUILT_INS, "leptos-ssr": dataclasses.replace(ssr, client=bad)})
    chained = dataclasses.replace(BUILT_INS["leptos-hydrate"], client="leptos")
    with pytest.raises(TemplateError, match="no client of its own"):
        check_clients({**BUILT_INS, "leptos-hydrate": chained})


def test_the_client_side_compiles_the_library_alone() -> None:
    shape = next(s for s in FULLSTACK if s.id == "fullstack-both-sides")
    source = extract_crate(Record.model_validate(shape.row()), load_profiles())
    assert isinstance(source, CrateSource) and source.profile == "leptos-ssr"
    assert source.lib == "src/lib.rs" and source.bins == ["src/main.rs"]
    client = client_source(source, "leptos-hydrate")
    assert client is not None
    assert (client.profile, client.lib, client.bins, client.tests) == ("leptos-hydrate", "src/lib.rs", [], [])
    assert client.files == source.files  # the same package, built for the other side
    assert client_source(dataclasses.replace(source, lib=None), "leptos-hydrate") is None


def test_the_cache_key_covers_the_client_pins() -> None:
    shape = next(s for s in FULLSTACK if s.id == "fullstack-both-sides")
    profiles = load_profiles()
    source = extract_crate(Record.model_validate(shape.row()), profiles)
    assert isinstance(source, CrateSource)
    toolchain = detect_toolchain()
    isolation = choose_isolation("none", toolchain)
    gate = CompileGate()
    client = gate.client_of(source, profiles)
    assert client is not None and client.name == "leptos-hydrate"
    server = profiles["leptos-ssr"]
    key = gate.cache_key(source, server, toolchain, isolation, client)
    repinned = dataclasses.replace(client, lock_text=client.lock_text + "\n")
    assert gate.cache_key(source, server, toolchain, isolation, repinned) != key
    assert gate.cache_key(source, server, toolchain, isolation) != key


@pytest.fixture(scope="module")
def replayed(warm_cache: Path) -> list[GateResult]:
    return CompileGate(timeout_s=120).check(_records())


@pytest.mark.cargo
def test_each_side_is_in_the_details(replayed: list[GateResult]) -> None:
    by_id = dict(zip((s.id for s in FULLSTACK), replayed, strict=True))
    both = by_id["fullstack-both-sides"]
    assert both.verdict == "pass", both.reason
    sides = both.details["sides"]
    assert sides["server"]["profile"] == "leptos-ssr" and sides["server"]["verdict"] == "pass"
    assert sides["client"]["profile"] == "leptos-hydrate" and sides["client"]["verdict"] == "pass"

    broken = by_id["fullstack-client-entry-broken"]
    assert broken.verdict == "fail" and broken.details["failed_side"] == "client"
    assert broken.reason is not None and broken.reason.startswith("client side (leptos-hydrate): ")
    assert broken.details["sides"]["server"]["verdict"] == "pass"
    assert broken.details["sides"]["client"]["verdict"] == "fail"

    leaked = by_id["fullstack-server-crate-on-client"]
    assert leaked.verdict == "fail" and leaked.details["server_only_crates"] == ["sqlx"]
    first = leaked.diagnostics[0]
    assert first.code == SERVER_ONLY and first.file == "src/app.rs" and first.line == 3, first  # under its path comment
    assert "missing_crates" not in leaked.details


@pytest.mark.cargo
def test_a_server_failure_leaves_the_client_unchecked(warm_cache: Path) -> None:
    shape = next(s for s in FULLSTACK if s.id == "fullstack-both-sides")
    row = shape.row()
    answer = row["messages"][1]["content"].replace("get_configuration(None)", "get_configuration(42)")  # type: ignore[index]
    row["messages"][1]["content"] = answer  # type: ignore[index]
    (result,) = CompileGate(timeout_s=120).check([Record.model_validate(row)])
    assert result.verdict == "fail" and not (result.reason or "").startswith("client side")
    assert result.details["sides"]["client"]["verdict"] == "not checked"


@pytest.mark.cargo
def test_batch_mode_checks_the_client_side_too(replayed: list[GateResult]) -> None:
    batched = CompileGate(timeout_s=120, method="batch").check(_records())
    for shape, single, batch in zip(FULLSTACK, replayed, batched, strict=True):
        assert single.verdict == batch.verdict == shape.expect, (shape.id, single.reason, batch.reason)
        assert single.details.get("failed_side") == batch.details.get("failed_side"), shape.id


@pytest.mark.cargo
def test_warming_the_server_profile_warms_its_client(warm_cache: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rustgate", "warm", "leptos-ssr"],
        capture_output=True,
        text=True,
        timeout=1800,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "leptos-ssr:" in done.stderr and "leptos-hydrate:" in done.stderr
