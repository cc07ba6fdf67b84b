"""The clippy tier as a pipeline stage: ``[clippy]`` (lint counts in the record's ``clippy`` verdict)."""

from __future__ import annotations

from pydantic import Field

from rustgate.gates.tier_stage import TierGate, TierSettings


class ClippyGate(TierGate):
    """``CompileGate`` with the clippy tier always on (``cargo.clippy``)."""

    name = "clippy"
    tier = "clippy"


class ClippySettings(TierSettings):
    gate = ClippyGate
    tiers: list[str] = Field(default_factory=lambda: ["compile", "clippy"])
