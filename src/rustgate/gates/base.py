"""A gate is one class with one method to override: ``evaluate``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from rustgate.records import GateResult, Record

if TYPE_CHECKING:
    from rustgate.ledger import Ledger
    from rustgate.llm.client import LLMClient


class Gate(ABC):
    """Looks at records and says, for each, pass / fail / rejected / timeout / error.

    Subclasses set ``name`` and ``version`` (bump the version when the verdict logic changes:
    it is part of every ledger key) and override ``evaluate``.
    """

    name: ClassVar[str]
    version: ClassVar[str]

    @abstractmethod
    async def evaluate(self, records: Sequence[Record]) -> list[GateResult]:
        """One result per record, in the same order. Never raises for a bad sample."""

    async def apply(self, records: Sequence[Record]) -> list[Record]:
        """The records with this gate's result attached under ``record.gates[self.name]``."""
        results = await self.evaluate(records)
        if len(results) != len(records):
            raise RuntimeError(f"gate {self.name} returned {len(results)} results for {len(records)} records")
        return [record.with_gate(result) for record, result in zip(records, results, strict=True)]

    def identity(self) -> dict[str, Any]:
        """Everything that can change this gate's verdicts (the run id and caches key on it).

        Override to add configuration; never include how fast or where the gate runs.
        """
        return {"name": self.name, "version": self.version}

    def error(self, reason: str) -> GateResult:
        """An infrastructure failure: never a pass, never a fail of the sample."""
        return GateResult(gate=self.name, verdict="error", version=self.version, reason=reason)


class StageContext:
    """What building a gate may need: the ledger, and one shared LLM client per model name."""

    def __init__(self, ledger: Ledger | None, client: Callable[[str], LLMClient] | None = None) -> None:
        self.ledger = ledger  # None: nothing cached (``--no-cache``)
        self._client = client

    def client(self, model: str) -> LLMClient:
        if self._client is not None:
            return self._client(model)
        if self.ledger is None:
            raise ValueError(f"{model}: an LLM gate needs a ledger (every call is cached there)")
        from rustgate.llm.client import LLMClient

        return LLMClient(model, ledger=self.ledger)


class GateSettings(BaseModel):
    """A gate's configuration, as a TOML table, CLI flags or Python: one model builds the gate.

    Fields are what the gate needs; ``EXECUTION`` names those that only decide how fast or
    where it runs (never a verdict), so they stay out of its identity.
    """

    model_config = ConfigDict(extra="forbid")
    EXECUTION: ClassVar[frozenset[str]] = frozenset()

    def build(self, context: StageContext) -> Gate:
        raise NotImplementedError
