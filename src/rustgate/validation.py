"""One way to say what pydantic refused: ``field.path: message; ...`` (records, configs, LLM output)."""

from __future__ import annotations

from pydantic import ValidationError


def format_validation_error(exc: ValidationError, source: str | None = None) -> str:
    """Every problem as ``loc: msg``, joined with ``; `` and prefixed by ``source: `` when given."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{loc}: {err['msg']}")
    text = "; ".join(parts)
    return f"{source}: {text}" if source else text
