"""output_dir rules: refuse a non-empty folder, --overwrite removes only a run's own files, --resume finds a
complete checkpoint, and written files get the modes the umask gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arcwright_train.outputs import (
    RESOLVED_CONFIG,
    RUN_MARKER,
    OutputDirError,
    begin,
    checkpoints,
    plan_output,
    record_written,
    write_text,
)
from rustgate.atomic import DIR_MODE, FILE_MODE, UMASK


def _checkpoint(folder: Path, step: int, *, state: str | None = "ok") -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"x")
    if state == "ok":
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    elif state == "torn":
        (path / "trainer_state.json").write_text('{"global_st')
    return path


def _earlier_run(folder: Path) -> None:
    """What a finished run leaves: adapter, merged model, checkpoints, marker."""
    plan = plan_output(folder, resume=None, overwrite=False)
    begin(plan, "# config\n")
    (folder / "adapter_model.safetensors").write_bytes(b"old")
    (folder / "merged").mkdir()
    (folder / "merged" / "model.safetensors").write_bytes(b"old")
    _checkpoint(folder, 4)
    record_written(folder, status="finished")


def test_empty_or_new_output_dir_is_fine(tmp_path: Path) -> None:
    assert plan_output(tmp_path / "new", resume=None, overwrite=False).remove == []
    (tmp_path / "empty").mkdir()
    assert plan_output(tmp_path / "empty", resume=None, overwrite=False).resume_from is None


def test_non_empty_output_dir_is_refused_unless_overwrite_or_resume(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_run(out)
    with pytest.raises(OutputDirError, match=r"is not empty \(it holds an earlier arcwright-train run: "):
        plan_output(out, resume=None, overwrite=False)
    assert plan_output(out, resume="latest", overwrite=False).resume_from is not None
    with pytest.raises(OutputDirError, match="contradict"):
        plan_output(out, resume="latest", overwrite=True)


def test_overwrite_removes_only_what_the_run_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_run(out)
    (out / "NOTES.md").write_text("mine")  # added after the run: not the run's
    plan = plan_output(out, resume=None, overwrite=True)
    assert plan.keep == ["NOTES.md"]
    assert set(plan.remove) == {"adapter_model.safetensors", "merged", "checkpoint-4", RUN_MARKER, RESOLVED_CONFIG}
    begin(plan, "# new config\n")
    assert sorted(p.name for p in out.iterdir()) == ["NOTES.md", RESOLVED_CONFIG, RUN_MARKER]
    marker = json.loads((out / RUN_MARKER).read_text())
    assert marker["keep"] == ["NOTES.md"] and marker["status"] == "running"
    (out / "adapter_model.safetensors").write_bytes(b"new")
    record_written(out)
    assert "NOTES.md" not in json.loads((out / RUN_MARKER).read_text())["written"]


def test_overwrite_never_touches_a_folder_arcwright_train_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "gated.jsonl").write_text("{}\n")
    with pytest.raises(OutputDirError, match=r"holds files arcwright-train did not write \(gated.jsonl; no "):
        plan_output(out, resume=None, overwrite=True)
    assert (out / "gated.jsonl").exists()


def test_resume_latest_skips_checkpoints_a_kill_left_incomplete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _checkpoint(out, 2)
    _checkpoint(out, 4)
    _checkpoint(out, 6, state=None)  # killed before trainer_state.json
    _checkpoint(out, 8, state="torn")  # killed while writing it
    complete, incomplete = checkpoints(out)
    assert [c.step for c in complete] == [4, 2] and [p.name for p in incomplete] == ["checkpoint-8", "checkpoint-6"]
    plan = plan_output(out, resume="latest", overwrite=False)
    assert plan.resume_from is not None and plan.resume_from.step == 4
    assert plan_output(out, resume=str(out / "checkpoint-2"), overwrite=False).resume_from.step == 2  # type: ignore[union-attr]


def test_resume_errors_name_the_problem(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OutputDirError, match="no complete checkpoint in"):
        plan_output(out, resume="latest", overwrite=False)
    _checkpoint(out, 6, state=None)
    with pytest.raises(OutputDirError, match=r"no complete checkpoint in .* \(checkpoint-6 incomplete\)"):
        plan_output(out, resume="latest", overwrite=False)
    with pytest.raises(OutputDirError, match="incomplete checkpoint"):
        plan_output(out, resume=str(out / "checkpoint-6"), overwrite=False)
    with pytest.raises(OutputDirError, match="not found"):
        plan_output(out, resume=str(out / "checkpoint-9"), overwrite=False)
    with pytest.raises(OutputDirError, match="not a checkpoint folder"):
        plan_output(out, resume=str(tmp_path), overwrite=False)


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    """The modes a plain ``open()`` / ``mkdir`` give under the process umask (0644 / 0755 under 022)."""
    assert (FILE_MODE, DIR_MODE) == (0o666 & ~UMASK, 0o777 & ~UMASK)
    write_text(tmp_path / "a" / "b.txt", "x")
    assert (tmp_path / "a" / "b.txt").stat().st_mode & 0o777 == FILE_MODE
    assert (tmp_path / "a").stat().st_mode & 0o777 == DIR_MODE
    out = tmp_path / "out"
    begin(plan_output(out, resume=None, overwrite=False), "# c\n")
    secret = out / "checkpoint-1" / "adapter_model.safetensors"
    secret.parent.mkdir()
    secret.write_bytes(b"x")
    secret.chmod(0o600)  # what safetensors leaves
    record_written(out)
    assert secret.stat().st_mode & 0o777 == FILE_MODE
    assert all(p.stat().st_mode & 0o777 == FILE_MODE for p in out.iterdir() if p.is_file())
    assert all(p.stat().st_mode & 0o777 == DIR_MODE for p in [out, *out.iterdir()] if p.is_dir())
