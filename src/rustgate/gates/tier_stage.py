"""A tier of the compile gate as a pipeline stage of its own: ``[clippy]``, ``[test]``, ``[run]``.

Each is the compile gate with its tier always on: the answer is compiled, then linted, tested
or run, and the stage's verdict is the worst of them, so a pipeline can list ``run`` where it
would list ``compile`` and keep that tier's result in the record's own verdict. Inside one
stage, ``[compile] tiers = ["compile", "run"]`` does the same under the ``compile`` name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rustgate.gates.base import StageContext
from rustgate.gates.compile import CompileGate, CompileSettings


class TierGate(CompileGate):
    """``CompileGate`` with ``tier`` always on (and any other tiers asked for)."""

    tier: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        tiers = tuple(kwargs.pop("tiers", ()) or ())
        super().__init__(tiers=("compile", self.tier, *tiers), **kwargs)


class TierSettings(CompileSettings):
    """The settings of a tier's stage: the compile settings, building ``gate``."""

    gate: ClassVar[type[TierGate]]

    def build(self, context: StageContext) -> TierGate:
        return self.gate(ledger=context.ledger, **self.model_dump())
