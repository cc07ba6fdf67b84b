"""The answer-shapes oracle: each label of tests/answer_shapes.py confirmed by plain cargo.

    python bench/answer_shapes_oracle.py [--only ID ...]

For every shape with a careful reader's form, a fresh package is made from its profile's
template (the same pinned manifest and lockfile, cargo's own target discovery), the reader's
files are written into it and ``cargo check --all-targets --offline --locked`` runs (for a
fullstack profile such as leptos-ssr, then ``cargo check --lib`` on its client profile, the
hydrate half; the package takes the name the answer's own Cargo.toml gives). A shape
agrees when cargo's exit status matches its label (``pass`` <=> success). Rejections are
verdicts about what the answer teaches (another major version, hidden code): they have no
compile form and are listed as such. The last line is ``oracle_agreement=X (N shapes)``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import tomlkit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from answer_shapes import SHAPES  # noqa: E402

from rustgate.cargo.templates import Profile, load_profiles  # noqa: E402
from rustgate.paths import cache_dir  # noqa: E402


def oracle_manifest(profile: Profile, answer_manifest: str | None = None) -> str:
    """The template's pins, with cargo's own target discovery (no fixed ``[lib]``), under the
    package name of the answer's own manifest when it gives one (its binaries ``use`` that name)."""
    doc = tomlkit.parse(profile.manifest_text)
    if "lib" in doc:
        del doc["lib"]
    name = (tomlkit.parse(answer_manifest).get("package") or {}).get("name") if answer_manifest else None
    if name:
        doc["package"]["name"] = str(name)  # type: ignore[index]
    return tomlkit.dumps(doc)


def _cargo(files: dict[str, str], profile: Profile, target_dir: Path, targets: list[str]) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="rustgate-oracle-") as scratch:
        root = Path(scratch)
        manifest = oracle_manifest(profile, files.get("Cargo.toml"))
        name = tomlkit.parse(manifest)["package"]["name"]  # type: ignore[index]
        (root / "Cargo.toml").write_text(manifest, encoding="utf-8")
        lock = profile.lock_text.replace('name = "rustgate_probe"\n', f'name = "{name}"\n')
        (root / "Cargo.lock").write_text(lock, encoding="utf-8")
        for relative, text in files.items():
            if relative == "Cargo.toml":
                continue
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        run = subprocess.run(
            ["cargo", "check", *targets, "--offline", "--locked", "--message-format", "short", "-q"],
            cwd=root,
            env={**os.environ, "CARGO_TARGET_DIR": str(target_dir)},
            capture_output=True,
            text=True,
            timeout=1800,
        )
        errors = [line for line in run.stderr.splitlines() if "error" in line]
        return run.returncode == 0, errors[0] if errors else ""


def cargo_check(
    files: dict[str, str], profile: Profile, target_dir: Path, client: Profile | None = None
) -> tuple[bool, str]:
    """Plain ``cargo check --all-targets`` of a reader's package on the profile's pins, and for a
    fullstack profile ``cargo check --lib`` of its library on the client profile's pins."""
    ok, first_error = _cargo(files, profile, target_dir, ["--all-targets"])
    if ok and client is not None and "src/lib.rs" in files:
        ok, first_error = _cargo(files, client, target_dir.parent / client.name, ["--lib"])
        first_error = f"client: {first_error}" if first_error else first_error
    return ok, first_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="shape ids to check (default: all)")
    args = parser.parse_args()
    profiles = load_profiles()
    agreed = checked = 0
    for shape in SHAPES:
        if args.only and shape.id not in args.only:
            continue
        if shape.reader is None:
            print(f"{shape.id:34} {shape.expect:9} (a rejection: no compile form)")
            continue
        profile = profiles[shape.crate]
        target_dir = cache_dir() / "oracle" / profile.name
        ok, first_error = cargo_check(shape.reader, profile, target_dir, profiles.get(profile.client))
        label_ok = ok == (shape.expect == "pass")
        checked += 1
        agreed += label_ok
        mark = "agrees" if label_ok else "DISAGREES"
        print(f"{shape.id:34} {shape.expect:9} cargo={'ok' if ok else 'error':6} {mark}  {first_error[:90]}")
    print(f"oracle_agreement={agreed / max(1, checked):.3f} ({checked} shapes)")


if __name__ == "__main__":
    main()
