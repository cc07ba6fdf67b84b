"""The profile registry: built-in templates, the selection rule, user profiles from rustgate.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rustgate.cargo.project import find_project_file, lock_path, user_profiles
from rustgate.cargo.templates import (
    Profile,
    TemplateError,
    built_in_profiles,
    choose_profile,
    load_profiles,
    profile_from_texts,
)

BUILT_INS = built_in_profiles()


def test_every_built_in_is_exactly_pinned_and_locked() -> None:
    for name, profile in BUILT_INS.items():
        assert profile.is_locked, name
        for dep, requirement in profile.requirements.items():
            assert requirement.startswith("="), f"{name}: {dep} = {requirement!r} is not an exact pin"
            assert profile.locked[dep] == requirement[1:], f"{name}: {dep} locked {profile.locked[dep]}"


def test_every_built_in_declares_what_it_is_for() -> None:
    for name, profile in BUILT_INS.items():
        assert profile.description, name
    assert BUILT_INS["axum"].crates == ("axum",)
    assert BUILT_INS["leptos"].crates == ("leptos",)
    assert BUILT_INS["rig"].crates == ("rig",)
    assert BUILT_INS["rust"].crates == ("rust",)
    assert BUILT_INS["leptos-ssr"].crates == ()
    assert "leptos_axum" in BUILT_INS["leptos-ssr"].markers
    assert BUILT_INS["axum-full"].on_demand and not BUILT_INS["axum"].on_demand
    assert BUILT_INS["leptos-actix"].on_demand and "leptos_actix" in BUILT_INS["leptos-actix"].markers


def test_crate_names_cover_every_direct_dependency() -> None:
    rig = BUILT_INS["rig"]
    assert "rig" in rig.crate_names and "rig_core" not in rig.crate_names
    assert len(rig.crate_names) == len(rig.requirements)
    assert {"tracing_subscriber", "base64", "mcp_core"} <= rig.crate_names
    assert {"console_error_panic_hook", "web_sys", "gloo_timers"} <= BUILT_INS["leptos"].crate_names
    assert {"hyper", "http_body_util", "tokio_stream", "headers"} <= BUILT_INS["axum"].crate_names


def test_leptos_ssr_pins_the_axum_leptos_axum_depends_on() -> None:
    ssr = BUILT_INS["leptos-ssr"]
    assert ssr.pins()["leptos"] == "0.7.8" and ssr.pins()["leptos_axum"] == "0.7.8"
    assert ssr.pins()["axum"].startswith("0.7.")
    assert BUILT_INS["axum"].pins()["axum"] == "0.8.9"


@pytest.mark.parametrize(
    ("crate", "roots", "expected"),
    [
        ("axum", {"axum", "serde"}, "axum"),
        ("leptos", {"leptos", "leptos_router"}, "leptos"),
        ("leptos", {"leptos", "leptos_axum", "axum"}, "leptos-ssr"),  # a marker beats the label
        (None, {"leptos_axum"}, "leptos-ssr"),
        ("axum", {"axum", "sqlx"}, "axum-full"),
        ("rig", {"rig", "tokio"}, "rig"),
        ("rust", {"axum"}, "rust"),  # the label's profile, not a guess from the code
        ("axum-full", set(), "axum-full"),  # a profile named like the label
        (None, {"axum_extra"}, "axum"),  # framework roots
        (None, {"rig"}, "rig"),
        (None, {"leptos_router"}, "leptos"),
        (None, set(), "rust"),
        ("bevy", {"bevy"}, "rust"),  # any label: unknown ones fall back
    ],
)
def test_choose_profile(crate: str | None, roots: set[str], expected: str) -> None:
    assert choose_profile(crate, roots, BUILT_INS) == expected


def test_markers_must_fit_the_label() -> None:
    # axum-full has sqlx but no leptos and no rig: it is not a leptos or rig answer's profile.
    assert choose_profile("leptos", {"leptos", "leptos_axum", "sqlx"}, BUILT_INS) == "leptos-ssr"
    assert choose_profile("rig", {"rig", "sqlx"}, BUILT_INS) == "rig"
    # A generic label lets any marker choose.
    assert choose_profile("rust", {"sqlx"}, BUILT_INS) == "axum-full"


def test_marker_ties_go_to_the_profile_that_pins_more_of_the_roots() -> None:
    # leptos-ssr (leptos_axum) and axum-full (sqlx) match one marker each; only leptos-ssr has leptos.
    assert choose_profile(None, {"leptos", "leptos_axum", "sqlx"}, BUILT_INS) == "leptos-ssr"


def test_choose_profile_none_when_nothing_matches() -> None:
    only_axum = {"axum": BUILT_INS["axum"]}
    assert choose_profile("leptos", {"leptos"}, only_axum) is None
    assert choose_profile(None, {"axum"}, only_axum) == "axum"


def test_fingerprint_follows_manifest_and_lock() -> None:
    axum = BUILT_INS["axum"]
    same = profile_from_texts("axum", axum.manifest_text, axum.lock_text, path=axum.path)
    assert same.fingerprint == axum.fingerprint
    feature = axum.manifest_text.replace('"macros", ', "", 1)
    assert feature != axum.manifest_text
    changed = profile_from_texts("axum", feature, axum.lock_text, path=axum.path)
    assert changed.lock_hash == axum.lock_hash and changed.fingerprint != axum.fingerprint


def _project(tmp_path: Path, text: str) -> Path:
    project = tmp_path / "rustgate.toml"
    project.write_text(text)
    return project


def test_user_profile_extends_a_built_in(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[profiles.rust-either]
extends = "rust"
description = "rust + either"
markers = ["either"]
dependencies = { either = "=1.13.0", smallvec = { version = "=1.13.2", features = ["serde"] } }
""",
    )
    profiles = user_profiles(project, dict(BUILT_INS))
    profile = profiles["rust-either"]
    assert profile.source == str(project) and not profile.built_in
    assert not profile.is_locked and profile.lock_path == lock_path(project, "rust-either")
    assert profile.lock_path == tmp_path / "rustgate-locks" / "rust-either.lock"
    assert profile.seed_lock == BUILT_INS["rust"].lock_text
    assert {"either", "smallvec", "serde", "tokio"} <= profile.crate_names
    assert profile.markers == ("either",) and profile.crates == ()
    manifest = tomllib.loads(profile.manifest_text)
    assert manifest["dependencies"]["smallvec"] == {"version": "=1.13.2", "features": ["serde"]}
    assert manifest["package"]["metadata"]["rustgate"]["description"] == "rust + either"
    assert choose_profile("rust", {"either"}, {**BUILT_INS, **profiles}) == "rust-either"
    assert choose_profile("rust", {"serde"}, {**BUILT_INS, **profiles}) == "rust"


def test_a_user_profile_with_the_same_marker_wins_over_the_built_in(tmp_path: Path) -> None:
    project = _project(tmp_path, '[profiles.zz-db]\nextends = "axum"\nmarkers = ["sqlx"]\n'
                       'dependencies = { sqlx = { version = "=0.8.6", features = ["sqlite"] } }\n')
    profiles = {**BUILT_INS, **user_profiles(project, dict(BUILT_INS))}
    assert choose_profile("axum", {"axum", "sqlx"}, profiles) == "zz-db"


def test_user_profile_keeps_the_base_features(tmp_path: Path) -> None:
    project = _project(tmp_path, '[profiles.my-ssr]\nextends = "leptos-ssr"\ndependencies = { either = "=1.13.0" }\n')
    profile = user_profiles(project, dict(BUILT_INS))["my-ssr"]
    assert tomllib.loads(profile.manifest_text)["features"]["default"] == ["ssr"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[profiles.axum]\ndependencies = { either = "=1.13.0" }\n', "replace = true"),
        ('[profiles.x]\ndependencies = { either = "1.13" }\n', "exact version"),
        ('[profiles.x]\nextends = "nope"\n', "unknown profile 'nope'"),
        ('[profiles.x]\nextends = "y"\n[profiles.y]\nextends = "x"\n', "extends itself"),
        ('[profiles.x]\ndependencis = {}\n', "dependencis"),
        ("[profiles.x\n", "rustgate.toml"),
    ],
)
def test_bad_project_files_name_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    project = _project(tmp_path, text)
    with pytest.raises(TemplateError, match=r"rustgate\.toml") as caught:
        user_profiles(project, dict(BUILT_INS))
    assert problem in str(caught.value)


def test_replace_takes_a_built_in_name_and_seeds_from_it(tmp_path: Path) -> None:
    project = _project(tmp_path, '[profiles.rust]\nreplace = true\nextends = "rust"\ncrates = ["rust"]\n'
                       'dependencies = { either = "=1.13.0" }\n')
    profiles = load_profiles(config=project)
    assert profiles["rust"].source == str(project)
    assert profiles["rust"].seed_lock == BUILT_INS["rust"].lock_text
    assert profiles["axum"].built_in


def test_project_file_is_found_upwards_or_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.delenv("RUSTGATE_CONFIG", raising=False)
    assert find_project_file(nested) == project
    other = tmp_path / "elsewhere.toml"
    other.write_text("")
    monkeypatch.setenv("RUSTGATE_CONFIG", str(other))
    assert find_project_file(nested) == other.resolve()
    monkeypatch.setenv("RUSTGATE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(TemplateError, match="missing.toml"):
        find_project_file(nested)


def test_load_profiles_lists_built_ins_then_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path, '[profiles.tiny]\ndependencies = { either = "=1.13.0" }\n')
    profiles = load_profiles(config=project)
    assert list(profiles)[: len(BUILT_INS)] == list(BUILT_INS)
    tiny: Profile = profiles["tiny"]
    assert tiny.requirements == {"either": "=1.13.0"} and tiny.crates == ()
