"""rustgate: gate LLM-generated Rust into training data that is right.

The public API is small: ``Pipeline`` (generate -> compile -> judge), ``CompileGate``, the
``Record`` that flows through everything, the ``Ledger`` that caches it, and ``read_jsonl``.
"""

from rustgate.data.jsonl import read_jsonl
from rustgate.gates.base import Gate
from rustgate.gates.compile import CompileGate
from rustgate.ledger import Ledger
from rustgate.records import Diagnostic, GateResult, Message, Record

__all__ = [
    "CompileGate",
    "Diagnostic",
    "Gate",
    "GateResult",
    "Ledger",
    "Message",
    "Pipeline",
    "Record",
    "read_jsonl",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Pipeline pulls in the anthropic and openai SDKs (~2 s): load it only when asked for.
    if name == "Pipeline":
        from rustgate.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'rustgate' has no attribute {name!r}")
