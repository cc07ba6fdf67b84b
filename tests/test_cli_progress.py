"""Progress in logs: plain lines with rate and ETA, never a negative ETA on an estimated total."""

from __future__ import annotations

import pytest

from rustgate.cli.progress import Reporter


def test_plain_lines_name_the_item_and_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    with Reporter("check", 3) as reporter:
        for label in ("a: pass", "b: fail", "c: pass"):
            reporter.advance(label)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("[1/3] a: pass (") and "eta" in lines[0]
    assert lines[-1].startswith("[3/3] c: pass (")


def test_estimated_total_grows_instead_of_overrunning(capsys: pytest.CaptureFixture[str]) -> None:
    with Reporter("warm", 2, estimate=True) as reporter:
        for i in range(5):
            reporter.advance(f"crate{i}")
    err = capsys.readouterr().err
    assert reporter.total == 6  # one item kept in hand until the caller finishes
    assert "eta -" not in err
    assert all(f"[{n}/2]" not in err for n in (3, 4, 5))
