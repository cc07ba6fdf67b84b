"""No command writes over its inputs: every output path is compared with every input path before
anything is written, through symlinks (``resolve``) and hard links (same device and inode).

An output *folder* is refused when it is an input or holds one; an output *file* when it is an
input, or another output of the same command (``--report-json X -o X``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

PathLike = str | os.PathLike[str]


class WritesOverInput(ValueError):
    """An output would replace an input (or another output); the message names both."""


def same_file(a: PathLike, b: PathLike) -> bool:
    """One file under two names: the same path once symlinks are followed, or a hard link."""
    left, right = Path(a), Path(b)
    if left.resolve() == right.resolve():
        return True
    try:
        return os.path.samefile(left, right)
    except OSError:  # one of them does not exist (yet): then they are not the same file
        return False


def holds(folder: Path, path: Path) -> bool:
    """``path`` is ``folder`` or lies under it, once symlinks are followed."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def refuse_overlap(
    outputs: Mapping[str, PathLike | None],
    inputs: Iterable[PathLike],
    *,
    folders: Iterable[str] = (),
) -> None:
    """``WritesOverInput`` when any output is an input (or, for the labels in ``folders``, holds one),
    or when two outputs are one file. ``outputs`` maps what the user calls each one (``--report-json``)
    to its path; ``None`` entries are outputs not asked for."""
    given = {label: Path(path) for label, path in outputs.items() if path is not None}
    sources = [Path(p) for p in inputs]
    as_folder = set(folders)
    for label, out in given.items():
        for source in sources:
            if same_file(out, source):
                raise WritesOverInput(f"{label} {out} is the input {source}: nothing was written; write elsewhere")
            if label in as_folder and holds(out, source):
                raise WritesOverInput(f"{label} {out} holds the input {source}: nothing was written; write elsewhere")
    labels = list(given)
    for i, first in enumerate(labels):
        for second in labels[i + 1 :]:
            if same_file(given[first], given[second]):
                raise WritesOverInput(f"{first} and {second} are one file ({given[first]}): give each its own path")
