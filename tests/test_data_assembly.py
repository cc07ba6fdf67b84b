"""Assembly stages: gates, dedupe, decontamination, sizing, replay share, seeded stratified split."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import distinct_code, gated

from rustgate.data.config import ConfigError, Sizing, load_config
from rustgate.data.decontam import decontaminate
from rustgate.data.dedupe import exact_dedupe, lsh_shape, near_dedupe
from rustgate.data.sampling import draw_replay, replay_count, size_per_crate, split

LONG = """
use std::collections::HashMap;

pub fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        let cleaned: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
        if cleaned.is_empty() {
            continue;
        }
        *counts.entry(cleaned.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

pub fn top_word(text: &str) -> Option<(String, usize)> {
    word_counts(text).into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
}
"""


def test_exact_dedupe_ignores_comments_and_whitespace() -> None:
    a = gated("a", "pub fn f() -> u8 { 1 }")
    b = gated("b", "// the same thing\npub fn f()   -> u8 {\n    1\n}")
    c = gated("c", "pub fn f() -> u8 { 2 }")
    kept, drops = exact_dedupe([a, b, c])
    assert [r.id for r in kept] == ["a", "c"]
    assert [(d.id, d.stage, d.reason) for d in drops] == [("b", "exact-duplicate", "same normalised code as a")]


def test_near_dedupe_catches_small_edits_and_honours_the_threshold() -> None:
    original = gated("orig", LONG)
    renamed = gated("edit", LONG.replace("top_word", "most_common_word"))
    other = gated("other", distinct_code(7))
    kept, drops = near_dedupe([original, renamed, other], threshold=0.7)
    assert [r.id for r in kept] == ["orig", "other"]
    assert drops[0].id == "edit" and drops[0].stage == "near-duplicate" and "near-duplicate of orig" in drops[0].reason
    strict_kept, strict_drops = near_dedupe([original, renamed, other], threshold=0.99)
    assert [r.id for r in strict_kept] == ["orig", "edit", "other"] and strict_drops == []


def test_lsh_shape_midpoint_sits_below_the_threshold() -> None:
    for threshold in (0.5, 0.7, 0.85, 0.95):
        bands, rows = lsh_shape(128, threshold)
        assert bands * rows == 128
        assert (1 / bands) ** (1 / rows) <= threshold


def test_decontamination_drops_overlap_with_eval_prompts_only() -> None:
    eval_prompt = "Write an axum handler that returns the number of active websocket connections as JSON"
    leaked = gated("leak", distinct_code(1), prompt=f"Please: {eval_prompt.lower()}, thanks")
    code_leak = gated("code", f"// {eval_prompt}\n{distinct_code(2)}")
    clean = gated("clean", distinct_code(3), prompt="Sum a slice of integers with wrapping arithmetic.")
    kept, drops = decontaminate([leaked, code_leak, clean], [eval_prompt], n=8)
    assert [r.id for r in kept] == ["clean"]
    assert {d.id: d.reason.split(" shares")[0] for d in drops} == {"leak": "prompt", "code": "code"}
    kept_loose, _ = decontaminate([leaked, clean], [eval_prompt], n=8, min_shared=100)
    assert [r.id for r in kept_loose] == ["leak", "clean"]


def pool(crate: str, n: int) -> list:
    return [gated(f"{crate}-{i:03d}", distinct_code(i), crate=crate) for i in range(n)]


def test_sizing_by_counts_reports_shortfall_and_drops_the_rest() -> None:
    records = pool("axum", 10) + pool("leptos", 4) + pool("rig", 3)
    sized = size_per_crate(records, {"axum": 6, "leptos": 5, "rig": 0}, seed=1)
    by_crate = {c: sum(1 for r in sized.records if r.crate == c) for c in ("axum", "leptos", "rig")}
    assert by_crate == {"axum": 6, "leptos": 4, "rig": 0}
    assert sized.shortfall == {"leptos": (5, 4)}
    assert len(sized.drops) == 4 + 3
    assert size_per_crate(records, {"axum": 6, "leptos": 5, "rig": 0}, seed=1).records == sized.records
    assert size_per_crate(records, {"axum": 6, "leptos": 5, "rig": 0}, seed=2).records != sized.records


def test_ratios_apportion_exactly_and_replay_share() -> None:
    sizing = Sizing(ratios={"leptos": 334 / 809, "axum": 317 / 809, "rig": 158 / 809}, total=809, replay_share=0.28)
    assert sizing.targets() == {"leptos": 334, "axum": 317, "rig": 158}
    count = replay_count(809, 0.28)
    assert abs(count / (809 + count) - 0.28) < 0.001
    drawn = draw_replay(pool("rust", 50), 20, seed=3)
    assert len(drawn.records) == 20 and len(drawn.drops) == 30 and drawn.shortfall == {}
    assert draw_replay(pool("rust", 5), 20, seed=3).shortfall == {"replay": (20, 5)}
    with pytest.raises(ValueError, match="sum to 1"):
        Sizing(ratios={"axum": 0.5}, total=10)


def test_split_is_deterministic_stratified_and_exact() -> None:
    records = pool("axum", 317) + pool("leptos", 334) + pool("rig", 158) + pool("rust", 307)
    train, test = split(records, 109, seed=42)
    assert (len(train), len(test)) == (1007, 109)
    assert {r.id for r in train}.isdisjoint({r.id for r in test})
    share = {c: sum(1 for r in test if r.crate == c) for c in ("axum", "leptos", "rig", "rust")}
    for crate, n in {"axum": 317, "leptos": 334, "rig": 158, "rust": 307}.items():
        assert abs(share[crate] - n * 109 / 1116) < 1
    again = split(list(reversed(records)), 109, seed=42)
    assert [r.id for r in again[1]] == [r.id for r in test]
    assert [r.id for r in split(records, 109, seed=43)[1]] != [r.id for r in test]
    frac_train, frac_test = split(records, 0.1, seed=42)
    assert len(frac_test) == round(1116 * 0.1)


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "b.toml"
    bad.write_text('[build]\ninputs = ["a.jsonl"]\n[build.sizing]\ncounts = { "Tokio!" = 3 }\n')
    with pytest.raises(ConfigError, match="sizing.counts.Tokio!"):
        load_config(bad)
    bad.write_text("[build\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
