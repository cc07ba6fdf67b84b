"""The answer's own Cargo.toml, read as a reviewer reads it: never used to build, only to say
whether it teaches a manifest that would build something else.

- A pinned crate declared with a semver-incompatible version (``axum = "0.7"`` beside the pinned
  0.8) is refused with ``RG-VERSION``: the record would teach a build of another axum.
- A declared crate outside the profile is refused (``RG-CRATE``, every such crate named) only
  when the code uses it; one the code never names is noted and tolerated.
- ``path``/``git`` dependencies on a pinned crate (how a framework's own examples are written)
  are noted; the pinned version is what compiles.
- ``...`` elision lines are dropped before parsing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from rustgate.cargo.rejection import Rejection
from rustgate.cargo.templates import Profile
from rustgate.markdown import CodeBlock, split_lines

_MANIFEST_TABLES = ("[package", "[dependencies", "[workspace", "[target.", "[dev-dependencies", "[build-dependencies")
_ELISION = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\]|#\s*\.\.\..*)\s*")
_VERSION = re.compile(r"\s*(\^|~|=|>=|<=|>|<)?\s*v?(\d+)(?:\.(\d+|\*|x))?(?:\.(\d+|\*|x))?(?:[-+][\w.-]*)?\s*")


@dataclass
class Manifest:
    dependencies: list[tuple[str, Any]] = field(default_factory=list)
    package_name: str | None = None
    package: dict[str, str] = field(default_factory=dict)  # the answer's [package] strings cargo exposes

    def package_env(self, default_name: str) -> dict[str, str]:
        """The ``CARGO_PKG_*`` variables cargo would set for this package (what ``env!`` reads)."""
        version = self.package.get("version", "0.1.0")
        core, _, pre = version.partition("-")
        parts = (core.split(".") + ["0", "0", "0"])[:3]
        env = {f"CARGO_PKG_{key}": self.package.get(field_name, "") for key, field_name in _PKG_FIELDS}
        env.update(
            CARGO_PKG_NAME=self.package.get("name", default_name),
            CARGO_PKG_VERSION=version,
            CARGO_PKG_VERSION_MAJOR=parts[0],
            CARGO_PKG_VERSION_MINOR=parts[1],
            CARGO_PKG_VERSION_PATCH=parts[2].partition("+")[0],
            CARGO_PKG_VERSION_PRE=pre.partition("+")[0],
        )
        return env


_PKG_FIELDS = (("DESCRIPTION", "description"), ("HOMEPAGE", "homepage"), ("REPOSITORY", "repository"),
               ("LICENSE", "license"), ("LICENSE_FILE", "license-file"), ("README", "readme"),
               ("RUST_VERSION", "rust-version"), ("AUTHORS", "authors"))  # fmt: skip


def read_manifests(blocks: list[CodeBlock]) -> Manifest | Rejection:
    """Dependencies (and the package name) of every ```toml block that is a Cargo manifest."""
    found = Manifest()
    for block in blocks:
        if block.lang != "toml":
            continue
        lines = [line for line in split_lines(block.body) if not _ELISION.fullmatch(line)]
        looks_like_manifest = any(line.lstrip().startswith(_MANIFEST_TABLES) for line in lines)
        try:
            doc = tomllib.loads("\n".join(lines))
        except (tomllib.TOMLDecodeError, ValueError, TypeError, RecursionError) as exc:
            if looks_like_manifest:
                return Rejection(f"a Cargo.toml block (line {block.line}) cannot be parsed: {str(exc)[:200]}")
            continue
        tables: list[tuple[str, Any]] = [("dependencies", doc.get("dependencies"))]
        tables.append(("dev-dependencies", doc.get("dev-dependencies")))
        target = doc.get("target")
        if isinstance(target, dict):
            tables += [(f"target.{cfg}.dependencies", spec.get("dependencies")) for cfg, spec in target.items()
                       if isinstance(spec, dict)]  # fmt: skip
        elif target is not None:
            return Rejection(f"a Cargo.toml block (line {block.line}) has an unreadable [target] table")
        workspace = doc.get("workspace")
        if isinstance(workspace, dict):
            tables.append(("workspace.dependencies", workspace.get("dependencies")))
        for name, table in tables:
            if table is None:
                continue
            if not isinstance(table, dict):
                return Rejection(f"a Cargo.toml block (line {block.line}): [{name}] is not a table")
            found.dependencies += list(table.items())
        package = doc.get("package")
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            found.package_name = package["name"].replace("-", "_")
        if isinstance(package, dict):
            for key, value in package.items():
                if isinstance(value, str) and len(value) <= 1000:
                    found.package[key] = value
                elif key == "authors" and isinstance(value, list) and all(isinstance(a, str) for a in value):
                    found.package[key] = ":".join(value)[:1000]  # cargo joins authors with ':'
    return found


def _parts(text: str) -> tuple[str, list[int]] | None:
    matched = _VERSION.fullmatch(text)
    if not matched:
        return None
    op = matched.group(1) or "^"
    numbers = [int(g) for g in matched.groups()[1:] if g is not None and g.isdigit()]
    return op, numbers


def _compatible_class(numbers: list[int]) -> tuple[int, ...]:
    """The leading components that semver's caret keeps fixed (0.8.x -> (0, 8); 1.2.3 -> (1,))."""
    for index, number in enumerate(numbers):
        if number != 0:
            return tuple(numbers[: index + 1])
    return tuple(numbers)


def satisfies(requirement: str, version: str) -> bool | None:
    """Whether the pinned ``version`` can stand for ``requirement`` (None: unreadable requirement).

    Caret, tilde and exact requirements must name the pinned version's compatibility line; a
    newer patch or minor than the pin is the same API line and is accepted. Range comparators
    are checked as written.
    """
    pinned = _parts(version)
    if pinned is None:
        return None
    have = pinned[1] + [0] * (3 - len(pinned[1]))
    ok = True
    for comparator in requirement.split(","):
        comparator = comparator.strip()
        if comparator in ("*", ""):
            continue
        parsed = _parts(comparator)
        if parsed is None:
            return None
        op, numbers = parsed
        if op in ("^", "=", "~"):
            line = tuple(numbers[:2]) if op == "~" else _compatible_class(numbers)
            ok = ok and tuple(have[: len(line)]) == line
        else:
            want = numbers + [0] * (3 - len(numbers))
            ok = ok and {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]
    return ok


def _version_of(spec: Any) -> str | None:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and isinstance(spec.get("version"), str):
        return str(spec["version"])
    return None


def _lib_names(profile: Profile, package: str) -> set[str]:
    """What code may call ``package`` (``rig-core``: ``rig_core``, or ``rig`` as the profile names it)."""
    normal = package.replace("-", "_")
    return {normal} | {profile.lib_name(dep) for dep in profile.requirements if dep.replace("-", "_") == normal}


def dependency_rejection(
    manifest: Manifest, profile: Profile, used: set[str], notes: list[str]
) -> Rejection | None:
    """Refuse what the manifest teaches wrongly; note what it declares that does not matter."""
    pinned = ", ".join(sorted(profile.requirements))
    pins = profile.pins()
    missing: list[str] = []
    for name, spec in manifest.dependencies:
        name = str(name)
        package = spec.get("package", name) if isinstance(spec, dict) else name
        lib = name.replace("-", "_")
        if not isinstance(package, str) or not profile.allows(package) or lib not in _lib_names(profile, package):
            if lib in used:
                missing.append(name)
            else:
                notes.append(f"Cargo.toml declares {name!r}, which the code never uses: not needed")
            continue
        if isinstance(spec, dict) and ("path" in spec or "git" in spec):
            notes.append(f"Cargo.toml takes {name!r} from a path or git: the pinned {name} is what compiles")
            continue
        requirement = _version_of(spec)
        exact = next((v for dep, v in pins.items() if dep.replace("-", "_") == package.replace("-", "_")), None)
        if requirement is None or exact is None:
            continue
        fits = satisfies(requirement, exact)
        if fits is False:
            reason = (f"Cargo.toml declares {name} = \"{requirement}\", but the {profile.name} profile pins "
                      f"{name} {exact}: the answer teaches a build of another version")  # fmt: skip
            return Rejection(reason, profile.name, "RG-VERSION")
    if missing:
        names = ", ".join(repr(m) for m in missing)
        return Rejection(
            f"dependencies {names} are outside the {profile.name} profile's pinned set ({pinned})"
            if len(missing) > 1
            else f"dependency {names} is outside the {profile.name} profile's pinned set ({pinned})",
            profile.name,
            "RG-CRATE",
            missing_crates=tuple(missing),
        )
    return None
