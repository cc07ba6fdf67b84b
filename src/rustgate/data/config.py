"""The ``rustgate build`` config: a TOML file checked by pydantic before any work starts.

Paths in the file are relative to the file itself, so a config travels with its dataset repo.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from rustgate.records import TIERS, Crate
from rustgate.validation import read_toml, validate_as


class ConfigError(ValueError):
    """The config file is missing, not TOML, or not a valid build config."""


class Sizing(BaseModel):
    """How many records per crate: exact ``counts``, or ``ratios`` of a ``total``.

    ``replay_share`` is the share of the *final* dataset drawn from the replay (general Rust)
    set: ``replay = round(framework * share / (1 - share))``. A crate with fewer records than
    its target keeps all it has, and the shortfall is written to the card.
    """

    model_config = ConfigDict(extra="forbid")

    counts: dict[Crate, int] | None = None
    ratios: dict[Crate, float] | None = None
    total: int | None = Field(default=None, ge=1)
    replay_share: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _one_way(self) -> Sizing:
        if self.counts is not None and self.ratios is not None:
            raise ValueError("give either counts or ratios, not both")
        if self.ratios is not None and self.total is None:
            raise ValueError("ratios need a total")
        if self.ratios is not None and abs(sum(self.ratios.values()) - 1.0) > 1e-6:
            raise ValueError(f"ratios must sum to 1 (they sum to {sum(self.ratios.values()):g})")
        if any(v < 0 for v in (self.counts or {}).values()):
            raise ValueError("counts must be >= 0")
        return self

    def targets(self) -> dict[str, int] | None:
        """Per-crate target counts, or None to keep everything."""
        if self.counts is not None:
            return {str(k): v for k, v in self.counts.items()}
        if self.ratios is not None and self.total is not None:
            return _apportion(self.ratios, self.total)
        return None


def _apportion(ratios: dict[str, float], total: int) -> dict[str, int]:
    """Largest-remainder rounding, so the counts add up to ``total`` exactly."""
    raw: dict[str, float] = {str(k): v * total for k, v in ratios.items()}
    counts: dict[str, int] = {k: int(v) for k, v in raw.items()}
    for key in sorted(raw, key=lambda k: (-(raw[k] - counts[k]), k))[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


class Dedupe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exact: bool = True
    near: bool = True
    threshold: float = Field(default=0.85, gt=0.0, le=1.0)
    num_perm: int = Field(default=128, ge=16)
    shingle: int = Field(default=5, ge=1)


class Decontam(BaseModel):
    """Drop a record sharing ``min_shared`` word ``ngram``-grams with any evaluation prompt."""

    model_config = ConfigDict(extra="forbid")

    eval_prompts: list[Path] = Field(default_factory=list)
    # The shipped eval suites (rustgate.eval) are always excluded unless this is turned off.
    shipped_suites: bool = True
    ngram: int = Field(default=10, ge=3)
    min_shared: int = Field(default=1, ge=1)


class Split(BaseModel):
    """``test`` is a fraction (< 1) or a count (>= 1) of the final dataset, stratified by crate."""

    model_config = ConfigDict(extra="forbid")

    test: float = Field(default=0.1, gt=0.0)


class BuildConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[Path] = Field(min_length=1)
    replay: list[Path] = Field(default_factory=list)
    output: Path = Path("dataset")
    required_gates: list[str] = Field(default_factory=lambda: ["compile"], min_length=1)
    replay_required_gates: list[str] = Field(default_factory=list)
    # Gates build may run itself on records whose verdict is missing or stale ("compile" only:
    # answers are compiled through the ledger, so unchanged code costs nothing).
    gate_missing: list[Literal["compile"]] = Field(default_factory=list)
    # A compile verdict written in a row is a claim: build re-derives it through the ledger (no
    # compile when the ledger has it) and drops a row whose claim disagrees as forged. ``true``
    # takes rows' verdicts on trust (only for inputs you gated yourself on this machine).
    trust_row_verdicts: bool = False
    # The compile gate's tiers when build derives verdicts (``["compile", "clippy"]`` adds the
    # clippy tier), the lints that fail an answer, and a budget: an answer with more clippy lints
    # than ``max_clippy_lints`` is dropped (it needs the clippy tier).
    compile_tiers: list[str] = Field(default_factory=lambda: ["compile"])
    clippy_deny: list[str] = Field(default_factory=list)
    max_clippy_lints: int | None = Field(None, ge=0)
    ledger: Path | None = None
    seed: int = 0
    sizing: Sizing = Field(default_factory=Sizing)
    dedupe: Dedupe = Field(default_factory=Dedupe)
    decontam: Decontam = Field(default_factory=Decontam)
    split: Split = Field(default_factory=Split)
    _base: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _tiers(self) -> BuildConfig:
        unknown = [t for t in self.compile_tiers if t not in TIERS]
        if unknown:
            raise ValueError(f"compile_tiers: unknown tier {unknown[0]!r} (the tiers are: {', '.join(TIERS)})")
        if (self.clippy_deny or self.max_clippy_lints is not None) and "clippy" not in self.compile_tiers:
            raise ValueError(
                'clippy_deny and max_clippy_lints need the clippy tier: compile_tiers = ["compile", "clippy"]'
            )
        return self

    def resolved(self, base: Path) -> BuildConfig:
        """Paths made absolute against ``base`` (the config file's folder)."""

        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base / p).resolve()

        resolved = self.model_copy(
            update={
                "inputs": [fix(p) for p in self.inputs],
                "replay": [fix(p) for p in self.replay],
                "output": fix(self.output),
                "ledger": fix(self.ledger) if self.ledger is not None else None,
                "decontam": self.decontam.model_copy(
                    update={"eval_prompts": [fix(p) for p in self.decontam.eval_prompts]}
                ),
            }
        )
        resolved._base = base
        return resolved

    def public(self) -> dict[str, Any]:
        """The config as written to the manifest: paths relative to the config file, not this host."""
        dumped = dict(self.model_dump(mode="json"))
        if self._base is None:
            return dumped

        def rel(p: str) -> str:
            return os.path.relpath(p, self._base)

        dumped["inputs"] = [rel(p) for p in dumped["inputs"]]
        dumped["replay"] = [rel(p) for p in dumped["replay"]]
        dumped["output"] = rel(dumped["output"])
        if dumped.get("ledger"):
            dumped["ledger"] = rel(dumped["ledger"])
        dumped["decontam"]["eval_prompts"] = [rel(p) for p in dumped["decontam"]["eval_prompts"]]
        return dumped


def load_config(path: str | Path) -> BuildConfig:
    doc = read_toml(path, ConfigError)
    config = validate_as(BuildConfig, doc.get("build", doc), str(path), ConfigError)
    return config.resolved(Path(path).parent.resolve())
