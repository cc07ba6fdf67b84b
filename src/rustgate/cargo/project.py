"""User profiles: ``[profiles.<name>]`` tables of a project file (``rustgate.toml``).

A user profile extends a built-in one (or another user profile) with more pinned crates, or is
a new profile of its own. Its lockfile is ``rustgate-locks/<name>.lock`` beside the project file,
written by ``rustgate warm <name>`` and meant to be committed: the pins are then reproducible.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rustgate.cargo.templates import Profile, TemplateError, profile_from_texts

PROJECT_FILE = "rustgate.toml"
LOCK_DIR = "rustgate-locks"
CONFIG_ENV = "RUSTGATE_CONFIG"
NO_PROJECT_FILE = "none"  # RUSTGATE_CONFIG=none: built-in profiles only, no project file is looked for
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SKELETON = """[package]
name = "rustgate_probe"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
path = "src/lib.rs"

[profile.dev]
debug = 0

[profile.dev.build-override]
debug = 0

[dependencies]
"""


class Dependency(BaseModel):
    """One pinned crate: an exact ``=x.y.z`` version, features, optional rename."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: str
    features: list[str] = Field(default_factory=list)
    default_features: bool = Field(True, alias="default-features")
    package: str | None = None

    @field_validator("version")
    @classmethod
    def _exact(cls, version: str) -> str:
        if not re.fullmatch(r"=\s*\d+\.\d+\.\d+(?:[-+][\w.+-]*)?", version.strip()):
            raise ValueError(f"pin an exact version such as '=1.2.3' (got {version!r})")
        return version.strip().replace(" ", "")

    def as_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"version": self.version}
        if self.package:
            table["package"] = self.package
        if not self.default_features:
            table["default-features"] = False
        if self.features:
            table["features"] = list(self.features)
        return table


class ProfileSpec(BaseModel):
    """A ``[profiles.<name>]`` table."""

    model_config = ConfigDict(extra="forbid")

    extends: str | None = None
    description: str = ""
    crates: list[str] = Field(default_factory=list)
    markers: list[str] = Field(default_factory=list)
    frameworks: list[str] = Field(default_factory=list)
    dependencies: dict[str, Dependency] = Field(default_factory=dict)
    replace: bool = False  # take a built-in profile's name
    on_demand: bool = False
    edition: str | None = None

    @field_validator("dependencies", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"version": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class ProjectFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profiles: dict[str, ProfileSpec] = Field(default_factory=dict)


def find_project_file(start: Path | None = None) -> Path | None:
    """``$RUSTGATE_CONFIG`` (which must exist; ``none``: no project file), else the nearest
    ``rustgate.toml`` upwards."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        if explicit.lower() == NO_PROJECT_FILE:
            return None
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise TemplateError(f"{CONFIG_ENV}={explicit}: no such file")
        return path.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def lock_path(project: Path, name: str) -> Path:
    """Where profile ``name``'s lockfile lives: ``rustgate-locks/<name>.lock`` beside the project file."""
    return project.parent / LOCK_DIR / f"{name}.lock"


def read_project(project: Path) -> ProjectFile:
    try:
        data = tomllib.loads(project.read_text())
    except OSError as exc:
        raise TemplateError(f"{project}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{project}: {exc}") from exc
    try:
        return ProjectFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"[{'.'.join(str(p) for p in err['loc'])}] {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise TemplateError(f"{project}: {problems}") from exc


def user_profiles(project: Path, built_ins: dict[str, Profile]) -> dict[str, Profile]:
    """The profiles ``project`` defines, each resolved against what it extends."""
    specs = read_project(project).profiles
    resolved: dict[str, Profile] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> Profile:
        if name in resolved:
            return resolved[name]
        if name in chain:
            raise TemplateError(f"{project}: [profiles.{name}] extends itself ({' -> '.join((*chain, name))})")
        spec = specs[name]
        if not _NAME.match(name):
            raise TemplateError(f"{project}: [profiles.{name}]: names are lowercase letters, digits, '-' and '_'")
        if name in built_ins and not spec.replace:
            raise TemplateError(
                f"{project}: [profiles.{name}] has the name of a built-in profile; rename it, or set "
                f"replace = true to use it instead of the built-in"
            )
        base: Profile | None = None
        if spec.extends is not None:
            if spec.extends in specs and spec.extends != name:
                base = resolve(spec.extends, (*chain, name))
            elif spec.extends in built_ins:
                base = built_ins[spec.extends]
            else:
                known = ", ".join(sorted({*built_ins, *specs}))
                raise TemplateError(
                    f"{project}: [profiles.{name}] extends unknown profile {spec.extends!r}; known: {known}"
                )
        lock = lock_path(project, name)
        resolved[name] = profile_from_texts(
            name,
            _manifest(spec, base),
            lock.read_text() if lock.is_file() else "",
            path=project.parent,
            source=str(project),
            lock_path=lock,
            # Resolving starts from the base's pins (rig's rig-derive 0.1.3 among them): only the
            # crates the user added get new versions.
            seed_lock=(base.lock_text or base.seed_lock) if base is not None else "",
        )
        return resolved[name]

    for name in specs:
        resolve(name, ())
    return resolved


def _manifest(spec: ProfileSpec, base: Profile | None) -> str:
    doc = tomlkit.parse(base.manifest_text if base is not None else _SKELETON)
    package = doc["package"]
    if spec.edition:
        package["edition"] = spec.edition
    metadata = package.setdefault("metadata", tomlkit.table())
    inherited_libs = dict(base.lib_names) if base is not None else {}
    rustgate = tomlkit.table()
    rustgate["description"] = spec.description or (f"{base.name} + {', '.join(spec.dependencies)}" if base else "")
    rustgate["crates"] = list(spec.crates)
    rustgate["markers"] = list(spec.markers)
    rustgate["frameworks"] = list(spec.frameworks)
    rustgate["on_demand"] = spec.on_demand
    if inherited_libs:
        rustgate["lib_names"] = inherited_libs
    metadata["rustgate"] = rustgate
    dependencies = doc.setdefault("dependencies", tomlkit.table())
    for dep, pin in spec.dependencies.items():
        inline = tomlkit.inline_table()
        inline.update(pin.as_toml())
        dependencies[dep] = inline
    return tomlkit.dumps(doc)
