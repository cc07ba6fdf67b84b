"""The run tier as a pipeline stage: ``[run]`` (each program run sandboxed for a window)."""

from __future__ import annotations

from pydantic import Field

from rustgate.gates.base import StageContext
from rustgate.gates.compile import CompileSettings
from rustgate.gates.tier_stage import TierGate


class RunGate(TierGate):
    """``CompileGate`` with the run tier always on (``cargo.run_tiers``)."""

    name = "run"
    tier = "run"


class RunSettings(CompileSettings):
    tiers: list[str] = Field(default_factory=lambda: ["compile", "run"])

    def build(self, context: StageContext) -> RunGate:
        return RunGate(ledger=context.ledger, **self.model_dump())
