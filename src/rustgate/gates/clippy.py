"""The clippy tier as a pipeline stage of its own: ``[clippy]`` in a pipeline TOML.

It is the compile gate with the clippy tier on (``cargo.clippy``): the answer is compiled, then
linted, and the stage's verdict is the worse of the two, so a pipeline can list ``clippy`` where
it would list ``compile`` and keep its lint counts in the record's ``clippy`` verdict. Inside one
stage, ``[compile] tiers = ["compile", "clippy"]`` does the same under the ``compile`` name.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rustgate.gates.base import StageContext
from rustgate.gates.compile import CompileGate, CompileSettings


class ClippyGate(CompileGate):
    """``CompileGate`` with the clippy tier always on."""

    name = "clippy"

    def __init__(self, **kwargs: Any) -> None:
        tiers = tuple(kwargs.pop("tiers", ()) or ())
        super().__init__(tiers=("compile", "clippy", *tiers), **kwargs)


class ClippySettings(CompileSettings):
    tiers: list[str] = Field(default_factory=lambda: ["compile", "clippy"])

    def build(self, context: StageContext) -> ClippyGate:
        return ClippyGate(ledger=context.ledger, **self.model_dump())
