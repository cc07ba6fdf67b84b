"""The clippy tier as a pipeline stage: ``[clippy]`` (lint counts in the record's ``clippy`` verdict)."""

from __future__ import annotations

from pydantic import Field

from rustgate.gates.base import StageContext
from rustgate.gates.compile import CompileSettings
from rustgate.gates.tier_stage import TierGate


class ClippyGate(TierGate):
    """``CompileGate`` with the clippy tier always on (``cargo.clippy``)."""

    name = "clippy"
    tier = "clippy"


class ClippySettings(CompileSettings):
    tiers: list[str] = Field(default_factory=lambda: ["compile", "clippy"])

    def build(self, context: StageContext) -> ClippyGate:
        return ClippyGate(ledger=context.ledger, **self.model_dump())
