"""``--dry-run`` applies every refusal a run applies: model, splits, schedule, pass-through keys, output_dir.

Each case runs the real CLI on a tiny offline Gemma 4 and a real dataset folder; nothing trains.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

from test_train_support import make_record, write_config, write_dataset  # noqa: E402

from arcwright_train.cli import main  # noqa: E402

pytest_plugins = ["train_fixtures"]
pytestmark = [pytest.mark.train, pytest.mark.timeout(300)]
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds", [make_record(i) for i in range(8)], [make_record(i) for i in (20, 21)])


def dry_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model: Path | str, data: Path, *flags: str, **extra: Any
) -> tuple[int, str, str]:
    path = write_config(tmp_path / "t.toml", Path(model), data, tmp_path / "run", **extra)
    if isinstance(model, str):  # a Hub id or a path exactly as the user wrote it
        path.write_text(path.read_text().replace(f'"{Path(model)}"', f'"{model}"', 1))
    capsys.readouterr()
    code = main(["train", "--config", str(path), "--dry-run", *flags])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_missing_local_model_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dataset: Path
) -> None:
    code, _out, err = dry_run(capsys, tmp_path, str(tmp_path / "no-such-model"), dataset)
    assert code == 1
    assert _one_line(err) == f"arcwright-train: error: model_name_or_path {tmp_path / 'no-such-model'}: no such folder"


def test_an_unreachable_hub_fails_fast_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: connection refused
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    code, _out, err = dry_run(capsys, tmp_path, "nobody/no-such-model", dataset)
    assert code == 1
    line = _one_line(err)
    assert "'nobody/no-such-model' is not a local folder, and the Hugging Face Hub (http://127.0.0.1:9)" in line
    assert "cannot be reached" in line and "not in the local cache either" in line


def test_hf_hub_offline_is_respected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _out, err = dry_run(capsys, tmp_path, "nobody/no-such-model", dataset)
    assert code == 1
    assert "HF_HUB_OFFLINE is set, but it is not in the Hugging Face cache" in _one_line(err)


def test_a_cached_model_is_used_offline_when_the_hub_is_unreachable(
    tiny_model: Path, tmp_path: Path, dataset: Path
) -> None:
    """Lay the tiny model out as the Hub cache stores it; with the Hub unreachable, the dry run uses it."""
    snapshot = tmp_path / "hf" / "hub" / "models--acme--tiny-gemma4" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for file in tiny_model.iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    path = write_config(tmp_path / "t.toml", tiny_model, dataset, tmp_path / "run")
    path.write_text(path.read_text().replace(f'"{tiny_model}"', '"acme/tiny-gemma4"', 1))
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    env.pop("HF_HUB_OFFLINE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "arcwright_train.cli", "train", "--config", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "model     acme/tiny-gemma4 (cache)" in done.stdout
    assert "the Hub (http://127.0.0.1:9) cannot be reached: using the cached copy offline" in done.stdout
    assert "tokens    train:" in done.stdout


def test_eval_split_typo_is_an_error_and_an_empty_one_a_warning(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path
) -> None:
    data = write_dataset(tmp_path / "ds", [make_record(i) for i in range(8)], [])
    code, _out, err = dry_run(capsys, tmp_path, tiny_model, data, "--dataset-eval-split", "tset")
    assert code == 2
    assert "dataset.eval_split 'tset' is not a split of" in err and "(splits: train, test)" in err
    code, out, _err = dry_run(capsys, tmp_path, tiny_model, data)
    assert code == 0 and "WARNING   eval split 'test' is empty: no eval loss" in out
    code, _out, err = dry_run(capsys, tmp_path, tiny_model, data, eval_strategy="steps")
    assert code == 2 and "eval_strategy = 'steps' need eval examples, but there are none" in err


def test_scheduler_kwargs_are_checked_before_training(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path, dataset: Path
) -> None:
    code, _out, err = dry_run(capsys, tmp_path, tiny_model, dataset, lr_scheduler_type="cosine_with_min_lr")
    assert code == 2 and "lr_scheduler_type 'cosine_with_min_lr' with lr_scheduler_kwargs {}" in err
    assert "min_lr" in err
    code, _out, err = dry_run(capsys, tmp_path, tiny_model, dataset, lr_scheduler_type="warmup_stable_decay")
    assert code == 2 and "num_decay_steps" in err
    code, out, _err = dry_run(
        capsys, tmp_path, tiny_model, dataset, "--lr-scheduler-kwargs", '{"num_decay_steps": 1}',
        lr_scheduler_type="warmup_stable_decay",
    )  # fmt: skip
    assert code == 0 and "schedule  lr 0.001, warmup_stable_decay, warm-up 0, {'num_decay_steps': 1}" in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--trl", '{"weight_decayy": 0.1}'], "trl.weight_decayy: unknown key (not a field of SFTConfig)"),
        (["--trl", '{"learning_rate": 0.1}'], "trl.learning_rate: set by arcwright-train; use learning_rate instead"),
        (
            ["--trl", '{"resume_from_checkpoint": "x"}'],
            "trl.resume_from_checkpoint: set by arcwright-train; use --resume",
        ),
        (["--peft", '{"r": 4}'], "peft.r: set by arcwright-train; use lora_r instead"),
        (["--peft", '{"use_doraa": true}'], "peft.use_doraa: unknown key (not a field of LoraConfig)"),
        (["--report-to", "wandb"], "report_to: wandb is not installed here (pip install wandb)"),
        (["--report-to", "tensorbored"], "report_to: unknown integration 'tensorbored'"),
    ],
)
def test_pass_through_keys_are_checked_by_name(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path, dataset: Path, flags: list[str], message: str
) -> None:
    if "wandb" in flags:
        import importlib.util

        if importlib.util.find_spec("wandb") is not None:
            pytest.skip("wandb is installed here")
    code, _out, err = dry_run(capsys, tmp_path, tiny_model, dataset, *flags)
    assert code == 2 and message in err, err


def test_train_without_config_uses_the_one_init_wrote(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``init`` then ``train``: no --config needed, and relative paths are relative to the config file."""
    project = tmp_path / "project"
    write_dataset(project / "data" / "mine", [make_record(i) for i in range(4)], [make_record(9)])
    monkeypatch.chdir(project)
    write_config(project / "arcwright-train.toml", tiny_model, Path("data/mine"), Path("out"))
    capsys.readouterr()
    code = main(["train", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("config    arcwright-train.toml (found in the working directory; --config to choose another)")
    assert f"dataset   {project / 'data' / 'mine'} (folder)" in out and f"output    {project / 'out'}" in out
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")  # from elsewhere, the file's paths still mean the same folders
    assert main(["train", "--config", "../arcwright-train.toml", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"dataset   {project / 'data' / 'mine'} (folder)" in out
    assert main(["train", "--dry-run"]) == 1  # no config here: the defaults, whose data/rustgate is not here
    captured = capsys.readouterr()
    assert captured.out.startswith("config    none (no --config and no ./arcwright-train.toml): the defaults")
    assert "dataset not found: data/rustgate" in captured.err
