"""The test tier as a pipeline stage: ``[test]`` (the answer's own tests, built and run sandboxed)."""

from __future__ import annotations

from pydantic import Field

from rustgate.gates.tier_stage import TierGate, TierSettings


class TestGate(TierGate):
    """``CompileGate`` with the test tier always on (``cargo.run_tiers``)."""

    __test__ = False  # not a pytest class
    name = "test"
    tier = "test"


class TestSettings(TierSettings):
    __test__ = False  # not a pytest class
    gate = TestGate
    tiers: list[str] = Field(default_factory=lambda: ["compile", "test"])
