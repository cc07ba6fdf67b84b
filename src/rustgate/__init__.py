"""rustgate: gate LLM-generated Rust into training data that is right.

The public API is small: ``Pipeline`` (generate -> compile -> judge), ``CompileGate``, the
``Record`` that flows through everything, the ``Ledger`` that caches it, ``read_jsonl``, and
``evaluate`` / ``EvalConfig`` (models over a prompt suite -> leaderboard; ``rustgate.eval``).
"""

from rustgate.data.jsonl import read_jsonl
from rustgate.gates.base import Gate
from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.records import Diagnostic, GateResult, Message, Record

__all__ = [
    "CompileGate",
    "Diagnostic",
    "EvalConfig",
    "Gate",
    "GateResult",
    "Ledger",
    "Message",
    "Pipeline",
    "Record",
    "evaluate",
    "read_jsonl",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Pipeline pulls in the anthropic and openai SDKs (~2 s): load it only when asked for.
    if name == "Pipeline":
        from rustgate.pipeline import Pipeline

        return Pipeline
    if name in ("evaluate", "EvalConfig"):
        import rustgate.eval

        return getattr(rustgate.eval, name)
    raise AttributeError(f"module 'rustgate' has no attribute {name!r}")
