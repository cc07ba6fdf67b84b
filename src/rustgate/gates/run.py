"""The run tier as a pipeline stage: ``[run]`` (each program run sandboxed for a window)."""

from __future__ import annotations

from pydantic import Field

from rustgate.gates.tier_stage import TierGate, TierSettings


class RunGate(TierGate):
    """``CompileGate`` with the run tier always on (``cargo.run_tiers``)."""

    name = "run"
    tier = "run"


class RunSettings(TierSettings):
    gate = RunGate
    tiers: list[str] = Field(default_factory=lambda: ["compile", "run"])
