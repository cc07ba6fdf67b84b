"""The pipeline's progress bar: records done, ETA, live cost and accepted count (rich)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from rustgate.llm.costs import Accounting


class ProgressView:
    """A no-op when disabled or when stderr is not a terminal (CI logs stay clean)."""

    def __init__(self, total: int, *, enabled: bool = True, console: Console | None = None) -> None:
        console = console or Console(file=sys.stderr)
        self.enabled = enabled and console.is_terminal
        self.total = total
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        if self.enabled:
            self.progress = Progress(
                TextColumn("[bold]rustgate"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[cost]}"),
                console=console,
                transient=False,
            )

    def start(self, *, done: int, accounting: Accounting, accepted: int) -> None:
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task(
                "run", total=self.total, completed=done, cost=self._cost(accounting, accepted)
            )

    def advance(self, accounting: Accounting, accepted: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=1, cost=self._cost(accounting, accepted))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()

    @staticmethod
    def _cost(accounting: Accounting, accepted: int) -> str:
        budget = f" / ${accounting.max_usd:g}" if accounting.max_usd is not None else ""
        return f"${accounting.spent_usd:.4f}{budget}  accepted {accepted}"
