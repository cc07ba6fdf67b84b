"""A gate is one class with one method to override: ``evaluate``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from rustgate.records import GateResult, Record


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

    def error(self, reason: str) -> GateResult:
        """An infrastructure failure: never a pass, never a fail of the sample."""
        return GateResult(gate=self.name, verdict="error", version=self.version, reason=reason)
