"""One way to read a config and to say what pydantic refused: ``file: field.path: message; ...``
(records, build/pipeline/eval configs, LLM output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def format_validation_error(exc: ValidationError, source: str | None = None) -> str:
    """Every problem as ``loc: msg``, joined with ``; `` and prefixed by ``source: `` when given."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{loc}: {err['msg']}")
    text = "; ".join(parts)
    return f"{source}: {text}" if source else text


def read_toml(path: str | Path, error: type[Exception]) -> dict[str, Any]:
    """A TOML file as plain data; ``error`` (naming the file) when it cannot be read or parsed."""
    import tomlkit

    try:
        doc = tomlkit.parse(Path(path).read_text(encoding="utf-8")).unwrap()
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from exc
    except tomlkit.exceptions.ParseError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
    return dict(doc)


def validate_as(model: type[M], data: Any, source: str, error: type[Exception]) -> M:
    """``model.model_validate(data)``; ``error`` with every problem (``source: loc: msg; ...``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(exc, source)) from exc
