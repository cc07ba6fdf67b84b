"""Where compile jobs run. A gate says what a verdict is; an executor says where it is computed.

``local`` (the default) is a thread pool on this machine; ``ray`` ships the jobs to a Ray cluster
(``pip install 'rustgate[ray]'``). Adding an engine is a module here and a line in ``make_executor``:
no gate changes.
"""

from __future__ import annotations

from typing import Literal

from rustgate.executors.base import CompileJob, Executor, ExecutorError, RunSpec
from rustgate.executors.local import LocalExecutor, default_jobs

ExecutorName = Literal["local", "ray"]
EXECUTORS: tuple[str, ...] = ("local", "ray")

__all__ = [
    "EXECUTORS",
    "CompileJob",
    "Executor",
    "ExecutorError",
    "ExecutorName",
    "LocalExecutor",
    "RunSpec",
    "default_jobs",
    "make_executor",
]


def make_executor(name: str, *, jobs: int | None = None, ray_address: str | None = None) -> Executor:
    """The executor called ``name``; ``ExecutorError`` when it is unknown or its engine is missing."""
    if name == "local":
        return LocalExecutor(jobs)
    if name == "ray":
        from rustgate.executors.ray import RayExecutor

        return RayExecutor(ray_address, threads=jobs)
    raise ExecutorError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
