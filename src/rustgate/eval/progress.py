"""The eval's progress bar: the pipeline's bar (answers done, ETA, live cost), counting compiles."""

from __future__ import annotations

from rustgate.llm.costs import Accounting
from rustgate.pipeline_progress import ProgressView


class EvalProgress(ProgressView):
    """``accepted`` here is the number of answers that compiled so far."""

    @staticmethod
    def _cost(accounting: Accounting, accepted: int) -> str:
        budget = f" / ${accounting.max_usd:g}" if accounting.max_usd is not None else ""
        return f"${accounting.spent_usd:.4f}{budget}  compiled {accepted}"
