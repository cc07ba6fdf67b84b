"""Progress that suits where it is shown: a rich bar on a terminal, plain lines in logs."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from rustgate.display import one_line


class RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("") if speed is None else Text(f"{speed:.1f}/s")


class Reporter:
    """``advance(label)`` once per finished item; draws a bar only when stderr is a terminal."""

    def __init__(self, description: str, total: int, *, estimate: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.total = total
        self.estimate = estimate  # the total is a guess: grow it rather than overrun it
        self.done = 0
        self.description = description
        self.started = time.monotonic()
        self._last_line = 0.0
        self._progress: Progress | None = None
        if self.console.is_terminal and sys.stderr.isatty():
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._task = self._progress.add_task(description, total=total)

    def __enter__(self) -> Reporter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=self.done, completed=self.done)
            self._progress.stop()

    def advance(self, label: str) -> None:
        self.done += 1
        if self.estimate and self.done >= self.total:
            # Totals can be estimates (cargo's unit count is not known up front): never show a
            # negative ETA, keep one item in hand until the caller is done.
            self.total = self.done + 1
        if self._progress is not None:
            self._progress.update(self._task, total=self.total)
            self._progress.advance(self._task)
            return
        now = time.monotonic()
        if self.done < self.total and now - self._last_line < 2.0:
            return  # plain logs get a line every two seconds, not one per item
        self._last_line = now
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        print(
            f"[{self.done}/{self.total}] {one_line(label, 200)} ({rate:.1f}/s, eta {eta:.0f}s)",
            file=sys.stderr,
            flush=True,
        )
