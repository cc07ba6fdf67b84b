"""The output folder: what a run may write where, what ``--overwrite`` removes, where ``--resume`` starts.

A run records what it wrote in ``arcwright-train.run.json`` as it goes (at the start, at every
checkpoint, at the end), so ``--overwrite`` removes exactly that and never a file it did not make.
Files keep the permissions the umask gives (0644 / 0755 under umask 022), as ``rustgate.atomic``
writes them, even where a library writes through a private temp file (safetensors makes 0600 files).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustgate.atomic import DIR_MODE, FILE_MODE, atomic_write_json, atomic_write_text

RUN_MARKER = "arcwright-train.run.json"
RESOLVED_CONFIG = "arcwright-train.resolved.toml"
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
SHOW_AT_MOST = 8


class OutputDirError(ValueError):
    """``output_dir`` cannot be used as asked (not empty, nothing to resume, not ours to overwrite)."""


def fix_modes(path: Path) -> None:
    """Give ``path`` (and, for a folder, everything below it) the modes the umask gives new files."""
    if path.is_symlink() or not path.exists():
        return
    if path.is_file():
        path.chmod(FILE_MODE)
        return
    path.chmod(DIR_MODE)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            Path(root, name).chmod(DIR_MODE)
        for name in files:
            if not Path(root, name).is_symlink():
                Path(root, name).chmod(FILE_MODE)


def write_text(path: Path, text: str) -> None:
    """Atomic (temp file, then rename), with a normal file's mode."""
    atomic_write_text(path, text)


def write_json(path: Path, payload: Any) -> None:
    atomic_write_json(path, payload)


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    step: int


def checkpoints(folder: Path) -> tuple[list[Checkpoint], list[Path]]:
    """``(complete, incomplete)`` checkpoints, newest first.

    transformers writes ``trainer_state.json`` last, so a checkpoint a kill interrupted has none
    (or a torn one) and is skipped rather than resumed from.
    """
    complete: list[Checkpoint] = []
    incomplete: list[Path] = []
    if not folder.is_dir():
        return complete, incomplete
    for entry in folder.iterdir():
        match = CHECKPOINT.match(entry.name)
        if not match or not entry.is_dir():
            continue
        try:
            state = json.loads((entry / TRAINER_STATE).read_text(encoding="utf-8"))
            ok = isinstance(state, dict) and int(state.get("global_step", -1)) == int(match.group(1))
        except (OSError, ValueError):
            ok = False
        if ok:
            complete.append(Checkpoint(entry, int(match.group(1))))
        else:
            incomplete.append(entry)
    complete.sort(key=lambda c: -c.step)
    incomplete.sort(key=lambda p: -int(CHECKPOINT.match(p.name).group(1)))  # type: ignore[union-attr]
    return complete, incomplete


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / RUN_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _names(names: list[str]) -> str:
    more = f" and {len(names) - SHOW_AT_MOST} more" if len(names) > SHOW_AT_MOST else ""
    return ", ".join(names[:SHOW_AT_MOST]) + more


@dataclass
class OutputPlan:
    """What the run will do to ``output_dir``, decided (and refused) before anything loads."""

    folder: Path
    resume_from: Checkpoint | None = None
    remove: list[str] = field(default_factory=list)  # earlier run's entries --overwrite removes
    keep: list[str] = field(default_factory=list)  # entries that are not ours: left alone
    notes: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = []
        if self.resume_from is not None:
            lines.append(f"resume from {self.resume_from.path} (step {self.resume_from.step})")
        if self.remove:
            lines.append(f"--overwrite removes the earlier run's {_names(self.remove)}")
        if self.keep:
            lines.append(f"keeps {_names(self.keep)} (not written by arcwright-train)")
        return lines + self.notes


def _ours(marker: dict[str, Any] | None, name: str) -> bool:
    if name == RUN_MARKER or CHECKPOINT.match(name):
        return True
    return marker is not None and name in marker.get("written", [])


def plan_output(folder: Path, *, resume: str | None, overwrite: bool) -> OutputPlan:
    """Refuse a non-empty ``output_dir`` unless resuming or ``--overwrite``; find the checkpoint to resume."""
    if resume is not None and overwrite:
        raise OutputDirError("--resume and --overwrite contradict each other: pick one")
    if folder.exists() and not folder.is_dir():
        raise OutputDirError(f"output_dir {folder} is a file, not a folder")
    plan = OutputPlan(folder)
    entries = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    marker = read_marker(folder)
    if resume is not None:
        plan.resume_from = _find_checkpoint(folder, resume)
        inside = plan.resume_from.path.resolve().parent == folder.resolve()
        if inside or not entries:
            return plan
    if not entries:
        return plan
    if not overwrite:
        what = "an earlier arcwright-train run" if marker is not None else "files arcwright-train did not write"
        raise OutputDirError(
            f"output_dir {folder} is not empty (it holds {what}: {_names(entries)}). "
            "Pass --resume to continue that run, --overwrite to replace what arcwright-train wrote there, "
            "or set another output_dir."
        )
    if marker is None:
        raise OutputDirError(
            f"output_dir {folder} holds files arcwright-train did not write ({_names(entries)}; no {RUN_MARKER}), "
            "so --overwrite will not touch them: empty it yourself or set another output_dir."
        )
    plan.remove = [name for name in entries if _ours(marker, name)]
    plan.keep = [name for name in entries if not _ours(marker, name)]
    return plan


def _find_checkpoint(folder: Path, resume: str) -> Checkpoint:
    if resume != "latest":
        path = Path(resume)
        if not path.is_dir():
            raise OutputDirError(f"--resume {resume}: not found")
        if not CHECKPOINT.match(path.name):
            raise OutputDirError(f"--resume {resume}: not a checkpoint folder (expected checkpoint-<step>)")
        found = next((c for c in checkpoints(path.parent)[0] if c.path.name == path.name), None)
        if found is None:
            raise OutputDirError(f"--resume {resume}: incomplete checkpoint (no valid {TRAINER_STATE})")
        return found
    complete, incomplete = checkpoints(folder)
    if not complete:
        skipped = f" ({_names([p.name for p in incomplete])} incomplete)" if incomplete else ""
        raise OutputDirError(f"--resume: no complete checkpoint in {folder}{skipped}")
    return complete[0]


def begin(plan: OutputPlan, config_text: str) -> None:
    """Just before training: clear the earlier run (``--overwrite``), then write the marker and config."""
    for name in plan.remove:
        target = plan.folder / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    plan.folder.mkdir(parents=True, exist_ok=True)
    fix_modes(plan.folder)
    marker = read_marker(plan.folder) if plan.resume_from is not None else None
    keep = sorted(set((marker or {}).get("keep", [])) | set(plan.keep))
    if marker is None and plan.resume_from is not None:  # resuming a folder no marker describes
        keep = sorted(p.name for p in plan.folder.iterdir() if not _ours(None, p.name))
    payload = {
        "format": "arcwright-train-run/1",
        "status": "running",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "keep": keep,
        "written": sorted(set((marker or {}).get("written", [])) | {RESOLVED_CONFIG}),
    }
    write_json(plan.folder / RUN_MARKER, payload)
    write_text(plan.folder / RESOLVED_CONFIG, config_text)


def record_written(folder: Path, *, status: str | None = None) -> None:
    """Bring the marker up to date with what the run has written (and fix those files' modes).

    Everything in ``output_dir`` but the entries kept from before the run counts as the run's.
    """
    marker = read_marker(folder) or {"format": "arcwright-train-run/1", "keep": [], "written": []}
    keep = set(marker.get("keep", []))
    written = sorted(p.name for p in folder.iterdir() if p.name not in keep and p.name != RUN_MARKER)
    for name in written:
        fix_modes(folder / name)
    marker["written"] = written
    if status is not None:
        marker["status"] = status
    write_json(folder / RUN_MARKER, marker)
