"""Eval suites: one prompt per line (``id``, ``crate``, ``prompt``), shipped or the user's own JSONL.

A bad line is reported by file, line and id and the good prompts are still used; a suite with no
usable prompt is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rustgate import safejson
from rustgate.data.jsonl import InputError, leading_id
from rustgate.eval.suites import SHIPPED_SUITES, SUITES_DIR
from rustgate.ledger import stable_hash
from rustgate.records import CRATES, Crate
from rustgate.validation import format_validation_error


class SuiteError(ValueError):
    """The suite cannot be used at all (missing file, no valid prompt)."""


class EvalPrompt(BaseModel):
    """One benchmark prompt; ``id`` is unique in its suite."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    crate: Crate
    prompt: str = Field(min_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", "prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        safejson.check_value(value)
        return value

    @field_validator("meta")
    @classmethod
    def _meta_is_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        safejson.check_value(value, depth=1)
        return value


@dataclass
class Suite:
    name: str
    source: Path
    prompts: list[EvalPrompt]
    errors: list[InputError] = field(default_factory=list)

    @property
    def hash(self) -> str:
        """Identifies the exact prompts (recorded in every output)."""
        return stable_hash("suite/1", [[p.id, p.crate, p.prompt] for p in self.prompts])[:16]

    @property
    def crates(self) -> list[str]:
        present = {p.crate for p in self.prompts}
        return [c for c in CRATES if c in present]

    def limited(self, per_crate: int | None) -> Suite:
        """The first ``per_crate`` prompts of each crate (quick runs), in suite order."""
        if per_crate is None:
            return self
        seen: dict[str, int] = {}
        kept = []
        for prompt in self.prompts:
            seen[prompt.crate] = seen.get(prompt.crate, 0) + 1
            if seen[prompt.crate] <= per_crate:
                kept.append(prompt)
        return Suite(self.name, self.source, kept, self.errors)


def suite_path(name_or_path: str | Path) -> Path:
    """A shipped suite's name (``rustweb-15``) or a path to a JSONL file."""
    if str(name_or_path) in SHIPPED_SUITES:
        return SUITES_DIR / f"{name_or_path}.jsonl"
    path = Path(name_or_path)
    if not path.is_file():
        shipped = ", ".join(SHIPPED_SUITES)
        raise SuiteError(f"{name_or_path}: no such suite file (shipped suites: {shipped})")
    return path


def load_suite(name_or_path: str | Path) -> Suite:
    path = suite_path(name_or_path)
    name = path.stem if str(name_or_path) not in SHIPPED_SUITES else str(name_or_path)
    prompts: list[EvalPrompt] = []
    errors: list[InputError] = []
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = safejson.loads(line)
        except safejson.UnsafeJSON as exc:
            errors.append(InputError(str(path), number, leading_id(line.encode()), str(exc)))
            continue
        rid = str(row.get("id")) if isinstance(row, dict) and row.get("id") is not None else None
        try:
            prompt = EvalPrompt.model_validate(row)
        except ValidationError as exc:
            problems = format_validation_error(exc)
            errors.append(InputError(str(path), number, rid, problems))
            continue
        if prompt.id in seen:
            first = f"duplicate id (first seen on line {seen[prompt.id]})"
            errors.append(InputError(str(path), number, prompt.id, first))
            continue
        seen[prompt.id] = number
        prompts.append(prompt)
    if not prompts:
        detail = f": {errors[0]}" if errors else ""
        raise SuiteError(f"{path}: no usable prompt{detail}")
    return Suite(name, path, prompts, errors)
