"""Fidelity: does the compile gate pass correct code nobody here wrote?

The pinned frameworks' own examples (and, optionally, the doc examples in their sources) are
wrapped in records as an answer would carry them and judged by the real ``CompileGate``. Nothing
upstream is committed here: pass the checkouts as arguments.

Get them (the bench reads these folders; any checkout of the right tag works)::

    git clone https://github.com/tokio-rs/axum /tmp/up/axum && git -C /tmp/up/axum checkout axum-v0.8.9
    git clone https://github.com/leptos-rs/leptos /tmp/up/leptos && git -C /tmp/up/leptos checkout v0.7.8
    git clone https://github.com/0xPlaygrounds/rig /tmp/up/rig && git -C /tmp/up/rig checkout rig-core-v0.13.0
    python bench/fidelity.py --axum /tmp/up/axum --leptos /tmp/up/leptos --rig /tmp/up/rig \\
        [--docs ~/.cargo/registry/src/index.crates.io-*/axum-0.8.9 ...] [--json out.json]

Which examples: axum ``examples/<name>/`` with one ``.rs`` file (``src/main.rs``); leptos
``examples/<name>/src/**.rs`` (``src/lib.rs`` + ``src/main.rs`` + modules, ``// src/...`` headers;
ssr when the example's manifest has an ``ssr`` feature); rig ``rig-core/examples/*.rs``. Non-Rust
files an example names in a string literal (``include_str!("../chat.html")``, askama's
``hello.html``) or reads by convention (``migrations/`` for ``sqlx::migrate!()``, ``templates/``
for askama) go with it as path-named blocks of their language.
Doc examples: fenced blocks in ``///``/``//!`` comments and ``docs/*.md`` of a crate source folder,
made into a crate the way rustdoc does (``# `` lines shown, wrapped in ``fn main`` when none);
``ignore``/``compile_fail``/non-Rust blocks are skipped, and so is a crate whose manifest says
``doctest = false`` (its doc examples are never compiled upstream: rig-core 0.13).

Prints, per framework, how many pass and what the others failed on (error class: the missing
crate for a ``rejected`` answer, else the first error code), then ``upstream_pass_rate=X`` over
the examples (doc examples are reported on their own line before it).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rustgate.atomic import atomic_write_json  # noqa: E402
from rustgate.gates.compile import CompileGate  # noqa: E402
from rustgate.records import GateResult, Record  # noqa: E402

_LANGS = {
    ".html": "html",
    ".jinja": "jinja",
    ".j2": "jinja",
    ".css": "css",
    ".scss": "scss",
    ".js": "javascript",
    ".sql": "sql",
    ".json": "json",
    ".toml": "toml",
    ".txt": "text",
    ".md": "markdown",
    ".graphql": "graphql",
}
_NOT_PART_OF_THE_ANSWER = {"Cargo.toml", "Cargo.lock", "README.md", "LICENSE", "Makefile.toml", "rust-toolchain.toml"}
_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_FENCE = re.compile(r"^```\s*([^`]*)$")
_MOD = re.compile(r"^[ \t]*(?:#\[[^\]]*\][ \t]*)*(?:pub(?:\([^)]*\))?[ \t]+)?mod[ \t]+([A-Za-z_]\w*)[ \t]*;", re.M)


@dataclass
class Case:
    framework: str
    group: str  # "examples", "examples (ssr)", "docs"
    name: str
    record: Record
    result: GateResult | None = None
    meta: dict[str, str] = field(default_factory=dict)


def _block(lang: str, path: str | None, body: str) -> str:
    body = body if body.endswith("\n") else body + "\n"
    fence = "````" if "```" in body else "```"
    if lang == "rust":
        header = f"// {path}\n" if path else ""
        return f"{fence}rust\n{header}{body}{fence}\n"
    return f'{fence}{lang} title="{path}"\n{body}{fence}\n'


def _record(case_id: str, crate: str, prompt: str, blocks: list[str]) -> Record:
    answer = "Here is the code.\n\n" + "\n".join(blocks)
    return Record.model_validate(
        {
            "id": case_id,
            "crate": crate,
            "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
        }
    )


def _named_files(folder: Path, rust_sources: list[str]) -> list[tuple[str, str]]:
    """Non-Rust text files of ``folder`` that the Rust code names by path, folder or file name."""
    literals = set()
    for source in rust_sources:
        for match in _STRING.finditer(source):
            text = match.group(1)
            while text.startswith(("./", "../")):
                text = text.split("/", 1)[1]
            if text:
                literals.add(text.rstrip("/"))
    code = "\n".join(rust_sources)
    # Folders macros read by convention, with no path in the code.
    if "migrate!" in code or "embed_migrations!" in code:
        literals.add("migrations")
    if "#[template(" in code:
        literals.add("templates")
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or path.suffix not in _LANGS or path.name in _NOT_PART_OF_THE_ANSWER:
            continue
        if relative.startswith(("src/", "target/", "end2end/", "e2e/", "tests/")) or path.stat().st_size > 64_000:
            continue
        parents = {relative.rsplit("/", i)[0] for i in range(1, relative.count("/") + 1)}
        if relative in literals or path.name in literals or parents & literals:
            try:
                found.append((relative, path.read_text()))
            except UnicodeDecodeError:
                continue
    return found


def _compiled_files(folder: Path) -> list[str]:
    """``src/lib.rs``, ``src/main.rs`` and the module files their ``mod x;`` items reach: what
    cargo compiles (a file no ``mod`` names is not part of the example)."""
    todo = [p for p in ("src/lib.rs", "src/main.rs") if (folder / p).is_file()]
    seen: list[str] = []
    while todo:
        relative = todo.pop(0)
        if relative in seen:
            continue
        seen.append(relative)
        path = PurePosixPath(relative)
        base = path.parent if path.name in ("lib.rs", "main.rs", "mod.rs") else path.parent / path.stem
        for name in _MOD.findall((folder / relative).read_text()):
            for candidate in (base / f"{name}.rs", base / name / "mod.rs"):
                if (folder / candidate).is_file():
                    todo.append(candidate.as_posix())
                    break
    return seen


def _version(manifest: Path) -> str:
    data = tomllib.loads(manifest.read_text())
    version = data.get("package", {}).get("version")
    if isinstance(version, str):
        return version
    return str(data.get("workspace", {}).get("package", {}).get("version", "?"))


def axum_examples(repo: Path) -> list[Case]:
    version = _version(repo / "axum" / "Cargo.toml")
    cases = []
    for folder in sorted((repo / "examples").iterdir()):
        sources = sorted(folder.rglob("*.rs")) if folder.is_dir() else []
        if len(sources) != 1 or sources[0].relative_to(folder).as_posix() != "src/main.rs":
            continue  # single-file examples only
        code = sources[0].read_text()
        blocks = [_block("rust", "src/main.rs", code)]
        blocks += [_block(_LANGS[Path(p).suffix], p, text) for p, text in _named_files(folder, [code])]
        prompt = f"Write the axum {version} `{folder.name}` example."
        record = _record(f"axum-{version}/{folder.name}", "axum", prompt, blocks)
        cases.append(Case("axum", "examples", folder.name, record))
    return cases


def leptos_examples(repo: Path) -> list[Case]:
    version = _version(repo / "Cargo.toml")
    cases = []
    for folder in sorted((repo / "examples").iterdir()):
        if not (folder / "Cargo.toml").is_file() or not (folder / "src").is_dir():
            continue
        manifest = tomllib.loads((folder / "Cargo.toml").read_text())
        ssr = "ssr" in manifest.get("features", {})
        paths = _compiled_files(folder)
        codes = {p: (folder / p).read_text() for p in paths}
        blocks = [_block("rust", p, codes[p]) for p in paths]
        blocks += [_block(_LANGS[Path(p).suffix], p, text) for p, text in _named_files(folder, list(codes.values()))]
        prompt = f"Write the leptos {version} `{folder.name}` example."
        group = "examples (ssr)" if ssr else "examples (csr)"
        record = _record(f"leptos-{version}/{folder.name}", "leptos", prompt, blocks)
        cases.append(Case("leptos", group, folder.name, record))
    return cases


def rig_examples(repo: Path) -> list[Case]:
    core = repo / "rig-core"
    version = _version(core / "Cargo.toml")
    cases = []
    for path in sorted((core / "examples").glob("*.rs")):
        prompt = f"Write the rig-core {version} `{path.stem}` example."
        record = _record(f"rig-{version}/{path.stem}", "rig", prompt, [_block("rust", "src/main.rs", path.read_text())])
        cases.append(Case("rig", "examples", path.stem, record))
    return cases


def _doc_snippets(text: str, in_comments: bool) -> list[str]:
    """The compiled doc-test bodies of one file, in rustdoc's form."""
    lines = text.splitlines()
    if in_comments:
        docs = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith(("///", "//!")):
                body = stripped[3:]
                docs.append(body[1:] if body.startswith(" ") else body)
            else:
                docs.append("\0")  # a break between comment blocks
        lines = docs
    snippets, body, info = [], None, ""
    for line in lines:
        fence = _FENCE.match(line.strip())
        if body is None:
            if fence:
                info, body = fence.group(1).strip(), []
        elif fence and not fence.group(1).strip():
            tags = {t.strip() for t in info.split(",") if t.strip()}
            skip = tags & {"ignore", "compile_fail", "text", "toml", "sh", "bash", "console", "json", "html", "js"}
            if not skip and (not tags or tags & {"rust", "no_run", "should_panic", "edition2018", "edition2021"}):
                snippets.append(_rustdoc(body))
            body = None
        elif line == "\0":
            body = None
        else:
            body.append(line)
    return snippets


def _rustdoc(lines: list[str]) -> str:
    shown = []
    for line in lines:
        stripped = line.lstrip()
        if stripped == "#" or stripped.startswith("# "):
            shown.append(stripped[2:])
        elif stripped.startswith("##"):
            shown.append(line.replace("##", "#", 1))
        else:
            shown.append(line)
    code = "\n".join(shown)
    if re.search(r"\bfn\s+main\s*\(", code):
        return code
    attrs = [line for line in shown if line.strip().startswith("#![")]
    rest = [line for line in shown if not line.strip().startswith("#![")]
    return "\n".join([*attrs, "#![allow(unused)]", "fn main() {", *rest, "}"])


def doc_examples(crate_dir: Path) -> list[Case]:
    name = crate_dir.name.rsplit("-", 1)[0]
    framework = {"axum": "axum", "axum-extra": "axum", "leptos": "leptos", "rig-core": "rig"}.get(name)
    if framework is None:
        raise SystemExit(f"--docs {crate_dir}: expected an axum, axum-extra, leptos or rig-core source folder")
    manifest = tomllib.loads((crate_dir / "Cargo.toml").read_text())
    if manifest.get("lib", {}).get("doctest") is False:
        # Upstream never compiles these (rig-core 0.13 sets it): they are not known-good code.
        print(f"{crate_dir.name}: doc examples skipped, its manifest says doctest = false")
        return []
    cases = []
    files = [(p, True) for p in sorted((crate_dir / "src").rglob("*.rs"))]
    files += [(p, False) for p in sorted((crate_dir / "docs").rglob("*.md"))] if (crate_dir / "docs").is_dir() else []
    for path, in_comments in files:
        for index, snippet in enumerate(_doc_snippets(path.read_text(), in_comments)):
            where = f"{path.relative_to(crate_dir).as_posix()}#{index}"
            prompt = f"Show the doc example {where} of {crate_dir.name}."
            record = _record(f"{crate_dir.name}/{where}", framework, prompt, [_block("rust", None, snippet)])
            cases.append(Case(framework, "docs", where, record))
    return cases


def error_class(result: GateResult) -> str:
    if result.verdict == "rejected":
        missing = result.details.get("missing_crates")
        if missing:
            return f"missing crate ({', '.join(missing)})"
        code = result.diagnostics[0].code if result.diagnostics else None
        return f"rejected {code or ''}".strip()
    if result.verdict == "fail":
        errors = [d for d in result.diagnostics if d.level.startswith("error")]
        return (errors[0].code if errors and errors[0].code else "error without code") if errors else "fail"
    return result.verdict


def report(cases: list[Case], verbose: bool) -> None:
    groups: dict[tuple[str, str], list[Case]] = {}
    for case in cases:
        groups.setdefault((case.framework, case.group), []).append(case)
    for (framework, group), members in groups.items():
        passed = [c for c in members if c.result is not None and c.result.verdict == "pass"]
        profiles = Counter(str(c.result.details.get("profile", "?")) for c in members if c.result is not None)
        used = ", ".join(f"{p} {n}" for p, n in profiles.most_common())
        print(f"{framework} {group}: {len(passed)}/{len(members)} pass ({len(passed) / len(members):.0%}) [{used}]")
        for case in members:
            result = case.result
            if result is None or result.verdict == "pass":
                continue
            if verbose or group != "docs":
                profile = result.details.get("profile", "?")
                problem = result.first_problem()[:160]
                print(f"  {result.verdict:8} {case.name} [{profile}] {error_class(result)}: {problem}")
    failing = [c.result for c in cases if c.result is not None and c.result.verdict != "pass"]
    classes = Counter(_coarse(error_class(r)) for r in failing)
    print("not passing, by class: " + (", ".join(f"{k} {v}" for k, v in classes.most_common()) or "none"))
    api = [r for r in failing if r.verdict == "fail"]
    named = sum(bool(_FRAMEWORK_PATH.search(r.first_problem())) for r in api)
    print(f"compiler errors: {len(api)}, of which {named} name a framework path (axum, leptos, rig, hyper, tower)")


_FRAMEWORK_PATH = re.compile(r"`(?:axum|leptos|rig|hyper|tower|tokio_rustls|reactive_stores)\w*(?:::|`)")


def _coarse(label: str) -> str:
    return "missing crate" if label.startswith("missing crate") else label


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--axum", type=Path, help="axum repository checkout (examples/)")
    parser.add_argument("--leptos", type=Path, help="leptos repository checkout (examples/)")
    parser.add_argument("--rig", type=Path, help="rig repository checkout (rig-core/examples/)")
    parser.add_argument("--docs", type=Path, nargs="*", default=[], help="crate source folders for doc examples")
    parser.add_argument("--only", help="only cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--json", type=Path, help="write every verdict here")
    parser.add_argument("--verbose", action="store_true", help="list failing doc examples too")
    args = parser.parse_args()
    cases: list[Case] = []
    if args.axum:
        cases += axum_examples(args.axum)
    if args.leptos:
        cases += leptos_examples(args.leptos)
    if args.rig:
        cases += rig_examples(args.rig)
    for crate_dir in args.docs:
        cases += doc_examples(crate_dir)
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    if not cases:
        parser.error("no examples: pass --axum, --leptos, --rig and/or --docs")
    started = time.perf_counter()
    results = CompileGate(jobs=args.jobs, ledger=None, use_cache=False).check([c.record for c in cases])
    for case, result in zip(cases, results, strict=True):
        case.result = result
    print(f"checked {len(cases)} records in {time.perf_counter() - started:.1f}s")
    report(cases, args.verbose)
    if args.json:
        rows = [
            {"framework": c.framework, "group": c.group, "name": c.name, "class": error_class(c.result),
             **c.result.model_dump(mode="json", include={"verdict", "reason", "details", "diagnostics"})}
            for c in cases if c.result is not None
        ]  # fmt: skip
        atomic_write_json(args.json, rows)
    docs = [c for c in cases if c.group == "docs" and c.result is not None]
    if docs:
        passed = sum(c.result.verdict == "pass" for c in docs if c.result is not None)
        print(f"doc_pass_rate={passed / len(docs):.3f} ({passed}/{len(docs)})")
    examples = [c for c in cases if c.group != "docs" and c.result is not None]
    if examples:
        passed = sum(c.result.verdict == "pass" for c in examples if c.result is not None)
        print(f"upstream_pass_rate={passed / len(examples):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
