"""What each sandbox backend adds to one compile, side by side on the same samples.

    RUSTGATE_CACHE_DIR=<warm cache> python bench/sandbox_overhead.py [--samples 20]

For each backend (none, bwrap when installed, namespaces), every sample's rustc command runs bare
and then wrapped, one after the other; the last line per backend is the mean cost per sample in
milliseconds, ``overhead_ms[<backend>]=X``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from compile_gate import samples, sources, warm_states  # noqa: E402

from rustgate.cargo.isolation import IsolationError, choose_isolation  # noqa: E402
from rustgate.cargo.replay import read_only_paths, replay_argv, sample_env, write_sample  # noqa: E402
from rustgate.cargo.sandbox import Limits, run_limited  # noqa: E402
from rustgate.cargo.templates import load_profiles  # noqa: E402
from rustgate.cargo.toolchain import detect_toolchain  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    toolchain, profiles = detect_toolchain(), load_profiles()
    warm = warm_states(toolchain, profiles)
    chosen = sources(samples(max(1, args.samples // 3 + 1)))[: args.samples]
    for source in chosen:  # one unmeasured pass: the page cache holds the dependencies after it
        scratch = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
        write_sample(scratch, source, profiles[source.profile].manifest_text)
        argv = replay_argv(warm[source.profile], source.root_file, "lib" if source.lib else "bin", scratch / "out",
                           sysroot=toolchain.sysroot)  # fmt: skip
        subprocess.run([str(toolchain.rustc), *argv], cwd=scratch, env=sample_env(warm[source.profile], scratch),
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)
    for backend in ("none", "bwrap", "namespaces"):
        try:
            isolation = choose_isolation(backend, toolchain)
        except IsolationError as exc:
            print(f"{backend}: unavailable ({exc})")
            continue
        bare = wrapped = 0.0
        for source in chosen:
            state = warm[source.profile]
            scratch = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
            root = scratch / "crate"
            root.mkdir()
            (scratch / "root").mkdir()
            write_sample(root, source, profiles[source.profile].manifest_text)
            kind = "lib" if source.lib else "bin"
            argv = [
                str(toolchain.rustc),
                *replay_argv(state, source.root_file, kind, root / "out", sysroot=toolchain.sysroot),
            ]
            env = sample_env(state, root)
            started = time.perf_counter()
            subprocess.run(argv, cwd=root, env=env, capture_output=True, check=False)
            bare += time.perf_counter() - started
            command = isolation.wrap(
                argv, cwd=root, env=env, read_only=read_only_paths(toolchain, state), writable=[root],
                scratch=scratch / "root",
            )  # fmt: skip
            started = time.perf_counter()
            run_limited(command, cwd=root, env=env, limits=Limits())
            wrapped += time.perf_counter() - started
            shutil.rmtree(scratch, ignore_errors=True)
        per = (wrapped - bare) / len(chosen) * 1000
        print(f"{backend}: bare {bare:.3f}s, wrapped {wrapped:.3f}s over {len(chosen)} samples")
        print(f"overhead_ms[{backend}]={per:.1f}")


if __name__ == "__main__":
    main()
