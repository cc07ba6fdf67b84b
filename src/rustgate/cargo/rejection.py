"""Why an answer cannot be checked as given: the one refusal type of the reading and layout."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    """The answer cannot be checked as given; ``reason`` says why (never a download)."""

    reason: str
    profile: str | None = None
    code: str = "RG-REJECTED"
    problems: tuple[str, ...] = ()
    missing_crates: tuple[str, ...] = ()
