"""Putting a finished folder in place without ever deleting what rustgate did not write.

A dataset folder is built in a staging folder beside the target and renamed into place. An
existing target is replaced only when it is recognisably an earlier output of the same kind
(its marker file, and nothing but the files that kind writes); anything else is refused, or with
``force`` the new files are written into it one by one and everything else is left alone. Inputs
are never touched: a target that would replace or overwrite an input is refused, force or not.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from rustgate.atomic import make_staging_dir
from rustgate.overlap import holds, same_file


class OutputRefused(RuntimeError):
    """The output path holds something rustgate must not replace; the message says what and why."""


def owned_files(folder: Path, marker: str, known: Callable[[Path], set[str]]) -> tuple[bool, list[str]]:
    """(folder is an earlier output, names in it this kind of output did not write)."""
    names = sorted(p.name for p in folder.iterdir())
    if marker not in names:
        return False, names
    ours = known(folder)
    return True, [n for n in names if n not in ours]


def place_folder(
    target: Path,
    write: Callable[[Path], None],
    *,
    marker: str,
    known: Callable[[Path], set[str]],
    inputs: Iterable[Path] = (),
    force: bool = False,
    what: str = "dataset",
) -> Path:
    """Build the folder with ``write(staging)`` and put it at ``target``.

    ``marker`` is the file that identifies an earlier output (``manifest.json``); ``known(folder)``
    names every file such an output holds. Raises ``OutputRefused`` before writing anything.
    """
    target = target.absolute()
    inputs = [Path(p) for p in inputs]
    if any(same_file(p, target) for p in inputs):
        raise OutputRefused(f"output {target} is an input: choose another output folder")
    held = [p for p in inputs if holds(target, p)]
    if held and not force:
        raise OutputRefused(
            f"output {target} holds an input ({held[0]}): nothing was written; choose another output folder"
        )
    mode = "new"
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputRefused(f"output {target} exists and is not a folder: choose another output")
    if target.is_dir():
        earlier, foreign = owned_files(target, marker, known)
        if not held and (not any(target.iterdir()) or (earlier and not foreign)):
            mode = "replace"
        elif not force:
            why = f"holds files a rustgate {what} does not: {', '.join(foreign[:5])}"
            if not earlier:
                why = f"is not an earlier rustgate {what} (no {marker})" + (
                    f" and holds {', '.join(foreign[:5])}" if foreign else ""
                )
            raise OutputRefused(
                f"output {target} {why}. Nothing was written. Choose another output folder, or pass --force "
                f"to write the {what} files into it and leave everything else in place"
            )
        else:
            mode = "merge"
    staging = make_staging_dir(target.parent, target.name)
    try:
        write(staging)
        written = sorted(p.name for p in staging.iterdir())
        if mode == "merge":
            overwritten = [target / n for n in written if (target / n).exists()]
            hit = [p for p in overwritten if any(same_file(p, i) for i in inputs)]
            if hit:
                raise OutputRefused(f"writing {hit[0]} would overwrite an input: choose another output folder")
            for name in written:
                os.replace(staging / name, target / name)
        elif target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)  # holds only files this kind of output wrote
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
