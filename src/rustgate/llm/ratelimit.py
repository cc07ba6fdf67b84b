"""Requests- and tokens-per-minute limiting that honours a server's ``Retry-After``.

One limiter is shared by every call to a provider. Token use is only known after a reply, so a
call reserves its estimated input tokens up front and settles the difference afterwards; the
bucket may go negative, which makes later calls wait rather than overrun the limit.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable


class _Bucket:
    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.capacity = per_minute
        self.rate = per_minute / 60.0
        self.level = per_minute
        self.clock = clock
        self.stamp = clock()

    def refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` fits (0 when it does now); a request larger than the bucket
        only waits for a full bucket, so it is slowed but never stuck."""
        self.refill()
        need = min(amount, self.capacity) - self.level
        return 0.0 if need <= 0 else need / self.rate


class RateLimiter:
    """``await limiter.acquire(tokens)`` before a call; ``limiter.pause(s)`` on a Retry-After."""

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.requests = _Bucket(requests_per_minute, clock) if requests_per_minute else None
        self.tokens = _Bucket(tokens_per_minute, clock) if tokens_per_minute else None
        self.paused_until = 0.0
        self.waited_s = 0.0
        self._locks: dict[int, asyncio.Lock] = {}

    def pause(self, seconds: float) -> None:
        """The server asked everyone to wait: no call through this limiter starts before then."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    async def acquire(self, tokens: int = 0) -> None:
        # One waiter at a time keeps the order fair and the buckets consistent.
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._locks:
            self._locks = {loop_id: asyncio.Lock()}  # a lock is bound to the loop that uses it
        async with self._locks[loop_id]:
            while True:
                delay = max(0.0, self.paused_until - self.clock())
                if self.requests is not None:
                    delay = max(delay, self.requests.wait_for(1))
                if self.tokens is not None:
                    delay = max(delay, self.tokens.wait_for(tokens))
                if delay <= 0:
                    break
                self.waited_s += delay
                await asyncio.sleep(delay)
            if self.requests is not None:
                self.requests.level -= 1
            if self.tokens is not None:
                self.tokens.level -= tokens

    def settle(self, reserved: int, used: int) -> None:
        """Charge (or refund) the difference between the estimate and the tokens really used."""
        if self.tokens is not None:
            self.tokens.refill()
            self.tokens.level -= used - reserved


class PrioritySlots:
    """A concurrency limit whose waiters go in priority order (lower first), FIFO within one.

    The pipeline asks judge and repair calls at a higher priority than fresh generations, so
    records already under way finish first and the run does not end in a long tail of them.
    """

    def __init__(self, slots: int) -> None:
        self.free = slots
        self.waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self.seq = itertools.count()

    async def acquire(self, priority: int = 0) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiters, (priority, next(self.seq), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            raise

    def release(self) -> None:
        while self.waiters:
            _, _, future = heapq.heappop(self.waiters)
            if not future.done():
                future.set_result(None)  # the slot passes straight to the waiter
                return
        self.free += 1
