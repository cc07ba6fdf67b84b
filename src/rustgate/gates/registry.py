"""Every gate a config can name, by its settings model.

Adding a gate (a clippy pass, a run tier) is its own module -- a ``Gate`` subclass and a
``GateSettings`` subclass whose ``build`` makes it -- plus one line here. The pipeline's TOML
tables, ``order`` and the run id all follow from this table.
"""

from __future__ import annotations

from rustgate.gates.base import GateSettings
from rustgate.gates.clippy import ClippySettings
from rustgate.gates.compile import CompileSettings
from rustgate.gates.judge import JudgeSettings
from rustgate.gates.run import RunSettings
from rustgate.gates.test import TestSettings

GATES: dict[str, type[GateSettings]] = {
    "compile": CompileSettings,
    "clippy": ClippySettings,
    "test": TestSettings,
    "run": RunSettings,
    "judge": JudgeSettings,
}
