"""The top-level modules of a profile's pinned crates (``rig::providers``, ``axum::routing``).

An answer that writes ``providers::openai::Client`` without its ``use rig::providers;`` has
made the same mistake as one that writes ``fmt::Display`` without ``use std::fmt;``: a missing
import, an ordinary ``fail``. rustc says only "unlinked crate `providers`" and suggests no
import from another crate, so without this list the gate would refuse the answer as using a
crate outside the profile. The names come from each direct dependency's crate root in cargo's
registry sources (``pub mod name``), read once per profile and cached.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

from rustgate.cargo.templates import Profile
from rustgate.cargo.toolchain import cargo_home

_PUB_MOD = re.compile(r"^\s*pub\s+mod\s+(?:r#)?([A-Za-z_]\w*)\s*[;{]", re.M)
_MAX_ROOT_BYTES = 4 << 20


def pinned_modules(profile: Profile) -> frozenset[str]:
    """Names of the public top-level modules of the profile's direct dependencies."""
    return _modules(tuple(sorted(profile.pins().items())), str(cargo_home()))


@functools.lru_cache(maxsize=32)
def _modules(pins: tuple[tuple[str, str], ...], home: str) -> frozenset[str]:
    registries = sorted((Path(home) / "registry" / "src").glob("*"))
    names: set[str] = set()
    for package, version in pins:
        for registry in registries:
            folder = registry / f"{package}-{version.lstrip('=')}"
            if folder.is_dir():
                names.update(_PUB_MOD.findall(_root_text(folder)))
                break
    return frozenset(names)


def _root_text(folder: Path) -> str:
    root = folder / "src" / "lib.rs"
    try:
        manifest = tomllib.loads((folder / "Cargo.toml").read_text(encoding="utf-8"))
        path = (manifest.get("lib") or {}).get("path")
        if isinstance(path, str):
            root = folder / path
        with root.open("rb") as handle:
            return handle.read(_MAX_ROOT_BYTES).decode("utf-8", errors="replace")
    except (OSError, tomllib.TOMLDecodeError):
        return ""
