"""Cargo profiles: one scratch package per profile, every crate pinned by a committed Cargo.lock.

Built-in profiles live in ``cargo_templates/<name>/``; a user's own come from a project file
(:mod:`rustgate.cargo.project`). Each manifest says, under ``[package.metadata.rustgate]``, which
records the profile is for (``crates``, ``markers``, ``frameworks``); :func:`choose_profile`
applies those rules.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BUILT_IN = "built-in"
FALLBACK = "rust"


class TemplateError(RuntimeError):
    """A profile is missing or broken: an infrastructure failure, never a verdict on a sample."""


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
    """A template package: the crates an answer may use, each pinned by the lockfile.

    ``crates``: the record ``crate`` labels this profile is the default for. ``markers``: crate
    roots whose use in an answer selects this profile over the label's default. ``frameworks``:
    crate roots that place unlabeled code in this profile's field. ``on_demand``: a bare
    ``rustgate warm`` skips it; it is warmed when named or first needed. ``client``: the profile
    that compiles the other half of a fullstack answer (leptos-ssr's library again, as the
    ``hydrate`` build); "" when the profile has one side only. ``runs``: False for a profile
    whose programs only run in a browser (the run tier does not apply to them).
    """

    name: str
    path: Path
    requirements: dict[str, str]
    locked: dict[str, str]
    lock_hash: str
    manifest_text: str = field(repr=False)
    lock_text: str = field(repr=False)
    crates: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    frameworks: tuple[str, ...] = ()
    description: str = ""
    on_demand: bool = False
    client: str = ""
    runs: bool = True  # False: builds for the browser (wasm) only; the run tier does not apply
    source: str = BUILT_IN
    lock_path: Path | None = None
    lib_names: Mapping[str, str] = field(default_factory=dict, repr=False)
    seed_lock: str = field(default="", repr=False)  # user profiles: the lockfile to resolve from

    @property
    def fingerprint(self) -> str:
        """Identity of the exact package: manifest (features, metadata) and lockfile together."""
        digest = hashlib.sha256()
        for text in (self.manifest_text, self.lock_text):
            digest.update(text.encode())
            digest.update(b"\0")
        return digest.hexdigest()[:16]

    @property
    def is_locked(self) -> bool:
        return bool(self.lock_text.strip())

    @property
    def built_in(self) -> bool:
        return self.source == BUILT_IN

    @property
    def crate_names(self) -> frozenset[str]:
        """The names code writes in ``use`` paths, one per direct dependency (``rig-core`` is ``rig``)."""
        return frozenset(self.lib_name(dep) for dep in self.requirements)

    def lib_name(self, dependency: str) -> str:
        return self.lib_names.get(dependency) or _KNOWN_LIB_NAMES.get(dependency) or dependency.replace("-", "_")

    def allows(self, dependency: str) -> bool:
        """Whether ``dependency`` (a package or lib name, ``-`` or ``_``) is one of the pins."""
        normal = dependency.replace("-", "_")
        return any(normal in (dep.replace("-", "_"), self.lib_name(dep)) for dep in self.requirements)

    def pins(self) -> dict[str, str]:
        """Each direct dependency with the exact version the lockfile resolves it to."""
        return {dep: self.locked.get(dep, req) for dep, req in self.requirements.items()}


# Packages whose library is not named after the package; a manifest can add its own under
# ``[package.metadata.rustgate.lib_names]``.
_KNOWN_LIB_NAMES = {"rig-core": "rig"}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.+-]", version))


def _requirement(spec: object) -> tuple[str, str]:
    """(package name override or "", version requirement) of one ``[dependencies]`` entry."""
    if isinstance(spec, str):
        return "", spec
    if isinstance(spec, dict):
        return str(spec.get("package", "")), str(spec.get("version", "*"))
    return "", "*"


def _strings(meta: dict[str, object], key: str, where: str) -> tuple[str, ...]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TemplateError(f"{where}: [package.metadata.rustgate] {key} must be a list of strings")
    return tuple(value)


def profile_from_texts(
    name: str,
    manifest_text: str,
    lock_text: str,
    *,
    path: Path,
    source: str = BUILT_IN,
    lock_path: Path | None = None,
    seed_lock: str = "",
) -> Profile:
    """A profile from its manifest and lockfile text (``lock_text`` empty: not locked yet)."""
    where = str(source if source != BUILT_IN else path / "Cargo.toml")
    try:
        manifest = tomllib.loads(manifest_text)
        packages_locked = _locked_packages(lock_text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{where}: profile {name!r}: {exc}") from exc
    meta = manifest.get("package", {}).get("metadata", {}).get("rustgate", {})
    if not isinstance(meta, dict):
        raise TemplateError(f"{where}: [package.metadata.rustgate] must be a table")
    lib_names = meta.get("lib_names", {})
    if not isinstance(lib_names, dict) or not all(isinstance(v, str) for v in lib_names.values()):
        raise TemplateError(f"{where}: [package.metadata.rustgate.lib_names] must map package names to lib names")
    requirements: dict[str, str] = {}
    packages: dict[str, str] = {}
    for dep, spec in manifest.get("dependencies", {}).items():
        package, requirements[dep] = _requirement(spec)
        packages[dep] = package or dep
    versions: dict[str, list[str]] = {}
    for package_name, version in packages_locked:
        versions.setdefault(package_name, []).append(version)
    locked = {}
    for dep, package in packages.items():
        if package in versions:
            exact = requirements[dep].lstrip("=").strip()
            locked[dep] = exact if exact in versions[package] else max(versions[package], key=_version_key)
    return Profile(
        name=name,
        path=path,
        requirements=requirements,
        locked=locked,
        lock_hash=hashlib.sha256(lock_text.encode()).hexdigest()[:16],
        manifest_text=manifest_text,
        lock_text=lock_text,
        crates=_strings(meta, "crates", where),
        markers=_strings(meta, "markers", where),
        frameworks=_strings(meta, "frameworks", where),
        description=str(meta.get("description", "")),
        on_demand=bool(meta.get("on_demand", False)),
        client=_client(meta, where),
        runs=bool(meta.get("runs", True)),
        source=source,
        lock_path=lock_path,
        lib_names={str(k): str(v) for k, v in lib_names.items()},
        seed_lock=seed_lock,
    )


def _client(meta: dict[str, object], where: str) -> str:
    value = meta.get("client", "")
    if not isinstance(value, str):
        raise TemplateError(f"{where}: [package.metadata.rustgate] client must be a profile name")
    return value


_LOCK_ENTRY = re.compile(r'^\[\[package\]\]\r?\nname = "([^"\n]+)"\r?\nversion = "([^"\n]+)"', re.M)


def _locked_packages(lock_text: str) -> list[tuple[str, str]]:
    """(name, version) of every ``[[package]]`` in a Cargo.lock. Cargo writes each entry's name and
    version first, so a scan does it (a full TOML parse of seven lockfiles cost every check 0.2 s);
    a lockfile written otherwise is parsed as TOML."""
    if not lock_text.strip():
        return []
    found = _LOCK_ENTRY.findall(lock_text)
    if len(found) == lock_text.count("[[package]]"):
        return found
    return [(p["name"], p["version"]) for p in tomllib.loads(lock_text).get("package", [])]


def load_profile(path: Path) -> Profile:
    """The built-in profile in template folder ``path``."""
    manifest_file, lock_file = path / "Cargo.toml", path / "Cargo.lock"
    if not lock_file.is_file():
        raise TemplateError(f"{path.name}: Cargo.lock is missing; every template must be locked")
    return profile_from_texts(
        path.name, manifest_file.read_text(), lock_file.read_text(), path=path, lock_path=lock_file
    )


@functools.lru_cache(maxsize=4)
def built_in_profiles(root: Path | None = None) -> dict[str, Profile]:
    base = root or templates_root()
    profiles = {}
    for child in sorted(base.iterdir()):
        if (child / "Cargo.toml").is_file():
            profiles[child.name] = load_profile(child)
    if not profiles:
        raise TemplateError(f"{base}: no templates")
    return profiles


def load_profiles(root: Path | None = None, config: Path | None = None) -> dict[str, Profile]:
    """Built-in profiles, then the project file's (``config``, else ``$RUSTGATE_CONFIG``, else the
    nearest ``rustgate.toml`` from the working directory up)."""
    from rustgate.cargo.project import find_project_file, user_profiles

    profiles = dict(built_in_profiles(root))
    project = config or find_project_file()
    if project is not None:
        profiles.update(user_profiles(project, profiles))
    check_clients(profiles)
    return profiles


def check_clients(profiles: Mapping[str, Profile]) -> None:
    """Each ``client`` names another profile that has no client of its own (one hop, no loops)."""
    for profile in profiles.values():
        client = profiles.get(profile.client)
        if profile.client and (client is None or client.client or client.name == profile.name):
            raise TemplateError(
                f"{profile.source if not profile.built_in else profile.path / 'Cargo.toml'}: client profile "
                f"{profile.client!r} of {profile.name!r} must be another profile that has no client of its own"
            )


def get_profile(name: str) -> Profile:
    profiles = load_profiles()
    if name not in profiles:
        raise TemplateError(f"unknown profile {name!r}; known: {', '.join(profiles)}")
    return profiles[name]


def choose_profile(crate: str | None, roots: Iterable[str], profiles: Mapping[str, Profile]) -> str | None:
    """The profile for a record labelled ``crate`` whose code uses the crate roots ``roots``.

    1. A profile whose ``markers`` meet ``roots`` wins, if it fits the label: the label is None,
       generic (its profile has no ``frameworks``, like ``rust``) or unknown, or the profile lists it,
       is named after it or pins a crate of that name. Among several: most markers matched, then
       most of ``roots`` pinned, then name order. So ``leptos_axum`` makes a leptos answer
       ``leptos-ssr`` and ``sqlx`` makes an axum answer ``axum-full``, but a rig answer stays ``rig``.
    2. The profile that lists ``crate`` in its ``crates`` (a user profile before a built-in one),
       else the profile named ``crate``.
    3. The profile whose ``frameworks`` meet ``roots`` (most matched, then name order).
    4. ``rust``; None only when none of these exists.
    """
    roots = frozenset(roots)
    labelled = _labelled(crate, profiles)
    generic = labelled is None or not profiles[labelled].frameworks

    def fits(name: str, profile: Profile) -> bool:
        if generic or crate is None:
            return True
        return crate in profile.crates or crate == name or crate.replace("-", "_") in profile.crate_names

    marked = [
        (-len(roots.intersection(p.markers)), -len(roots & p.crate_names), p.built_in, name)
        for name, p in profiles.items()
        if roots.intersection(p.markers) and fits(name, p)
    ]
    if marked:
        return min(marked)[3]
    if labelled is not None:
        return labelled
    used = [(-len(roots & set(p.frameworks)), name) for name, p in profiles.items() if roots & set(p.frameworks)]
    if used:
        return min(used)[1]
    return FALLBACK if FALLBACK in profiles else None


def _labelled(crate: str | None, profiles: Mapping[str, Profile]) -> str | None:
    """The profile a ``crate`` label names: one listing it (user profiles first), else its namesake."""
    if crate is None:
        return None
    listing = sorted((p.built_in, name) for name, p in profiles.items() if crate in p.crates)
    if listing:
        return listing[0][1]
    return crate if crate in profiles else None
