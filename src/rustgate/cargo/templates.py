"""The pinned Cargo templates: one scratch package per profile, with a committed Cargo.lock."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


class TemplateError(RuntimeError):
    """The templates folder is missing or broken: an infrastructure failure."""


def templates_root() -> Path:
    """``$RUSTGATE_TEMPLATES_DIR``, else the copy inside the wheel, else the repo's ``cargo_templates``."""
    explicit = os.environ.get("RUSTGATE_TEMPLATES_DIR")
    candidates = [Path(explicit)] if explicit else []
    here = Path(__file__).resolve()
    candidates += [here.parent.parent / "_cargo_templates", here.parents[3] / "cargo_templates"]
    for candidate in candidates:
        if (candidate / "rust" / "Cargo.toml").is_file():
            return candidate
    raise TemplateError(f"no cargo templates found (looked in {', '.join(map(str, candidates))})")


@dataclass(frozen=True)
class Profile:
    """A template package: the crates an answer may use, each pinned by the lockfile."""

    name: str
    path: Path
    requirements: dict[str, str]
    locked: dict[str, str]
    lock_hash: str
    manifest_text: str = field(repr=False)
    lock_text: str = field(repr=False)

    @property
    def crate_names(self) -> frozenset[str]:
        """The names code writes in ``use`` paths (``rig-core`` is ``rig``)."""
        return frozenset(_lib_name(dep) for dep in self.requirements)

    def allows(self, dependency: str) -> bool:
        normal = dependency.replace("-", "_")
        return any(normal in (dep.replace("-", "_"), _lib_name(dep)) for dep in self.requirements)

    def pins(self) -> dict[str, str]:
        """Each direct dependency with the exact version the lockfile resolves it to."""
        return {dep: self.locked.get(dep, req) for dep, req in self.requirements.items()}


_LIB_NAMES = {"rig-core": "rig"}


def _lib_name(package: str) -> str:
    return _LIB_NAMES.get(package, package.replace("-", "_"))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.+-]", version))


def _requirement(spec: object) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return str(spec.get("version", "*"))
    return "*"


def load_profile(path: Path) -> Profile:
    manifest_file, lock_file = path / "Cargo.toml", path / "Cargo.lock"
    if not lock_file.is_file():
        raise TemplateError(f"{path.name}: Cargo.lock is missing; every template must be locked")
    manifest_text = manifest_file.read_text()
    lock_text = lock_file.read_text()
    manifest = tomllib.loads(manifest_text)
    lock = tomllib.loads(lock_text)
    requirements = {name: _requirement(spec) for name, spec in manifest.get("dependencies", {}).items()}
    versions: dict[str, list[str]] = {}
    for package in lock.get("package", []):
        versions.setdefault(package["name"], []).append(package["version"])
    locked = {name: max(versions[name], key=_version_key) for name in requirements if name in versions}
    return Profile(
        name=path.name,
        path=path,
        requirements=requirements,
        locked=locked,
        lock_hash=hashlib.sha256(lock_text.encode()).hexdigest()[:16],
        manifest_text=manifest_text,
        lock_text=lock_text,
    )


@functools.lru_cache(maxsize=4)
def load_profiles(root: Path | None = None) -> dict[str, Profile]:
    base = root or templates_root()
    profiles = {}
    for child in sorted(base.iterdir()):
        if (child / "Cargo.toml").is_file():
            profiles[child.name] = load_profile(child)
    if not profiles:
        raise TemplateError(f"{base}: no templates")
    return profiles


def get_profile(name: str) -> Profile:
    profiles = load_profiles()
    if name not in profiles:
        raise TemplateError(f"unknown profile {name!r}; known: {', '.join(profiles)}")
    return profiles[name]
