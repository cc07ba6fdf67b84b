"""Micro-batches for non-LLM gates: records arriving together are evaluated together.

One cargo run over many answers beats many runs over one; the pipeline and the evaluation both
feed their compile gate through a batcher so a slow batch never idles the LLM calls around it.
"""

from __future__ import annotations

import asyncio

from rustgate.gates.base import Gate
from rustgate.records import GateResult, Record


class GateBatcher:
    """Collects records for one gate for up to ``wait_s`` and evaluates them together."""

    def __init__(self, gate: Gate, *, max_batch: int, wait_s: float) -> None:
        self.gate, self.max_batch, self.wait_s = gate, max_batch, wait_s
        self.pending: list[tuple[Record, asyncio.Future[GateResult]]] = []
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def submit(self, record: Record) -> GateResult:
        future: asyncio.Future[GateResult] = asyncio.get_running_loop().create_future()
        self.pending.append((record, future))
        self.wake.set()
        if self.task is None:
            self.task = asyncio.create_task(self._worker())
        return await future

    async def _worker(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            if not self.pending:
                continue
            if len(self.pending) < self.max_batch:
                # Records that arrive while a batch runs form the next one; this short wait
                # only gathers those landing at the same moment.
                await asyncio.sleep(self.wait_s)
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            try:
                results = await self.gate.evaluate([r for r, _ in batch])
            except Exception as exc:  # an infrastructure failure of the gate itself
                results = [self.gate.error(f"{type(exc).__name__}: {exc}") for _ in batch]
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            if self.pending:
                self.wake.set()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
