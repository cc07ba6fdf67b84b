"""From a markdown answer to a sample package: its files, its targets and its profile, or why not.

```rust`` blocks form the crate, in order; a block whose first line (or info string) names a path
goes to that file, and path-named blocks of other languages (html, css, sql, toml templates)
become files of the package, so an ``include_str!`` inside it works. ``rust,ignore`` and
``rust,compile_fail`` blocks are not compiled, as rustdoc does not compile them. A ```toml
manifest's dependencies are read only to refuse crates outside the profile: the sample's own
manifest, build script and dependencies are never used.

Everything here is linear in the answer's length and bounded by ``max_answer_bytes``; a bad
answer gives a ``Rejection`` with the reason, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from rustgate.cargo.file_access import file_access_problems
from rustgate.cargo.hidden import has_test_code, hidden_code
from rustgate.cargo.layout import LayoutError, check_tree, module_parents, normalise
from rustgate.cargo.lexer import LexError, Token, tokenize
from rustgate.cargo.manifest_deps import dependency_rejection, read_manifests
from rustgate.cargo.reading import program_blocks, read_blocks
from rustgate.cargo.rejection import Rejection
from rustgate.cargo.templates import Profile, choose_profile, load_profiles
from rustgate.cargo.usage import joined, shared_globs, usage_function, with_globs
from rustgate.markdown import MAX_NESTING, ParsedMarkdown, read_markdown
from rustgate.records import Record

DEFAULT_MAX_ANSWER_BYTES = 512 * 1024
NOT_CRATES = frozenset({"std", "core", "alloc", "proc_macro", "test", "crate", "self", "super", "Self"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DECLARES = {"mod", "struct", "enum", "trait", "type", "union", "fn", "const", "static"}


@dataclass
class CrateSource:
    """The sample package: every file by package path, and which files are compiled how."""

    profile: str
    files: dict[str, str] = field(default_factory=dict)
    lib: str | None = None  # "src/lib.rs" when the answer has a library
    bins: list[str] = field(default_factory=list)  # src/main.rs, src/bin/*.rs, examples/*.rs
    tests: list[str] = field(default_factory=list)  # tests/*.rs, checked as test crates
    library_name: str | None = None  # what the binaries call the library (``use my_app::...``)
    synthesized: list[str] = field(default_factory=list)  # module files rustgate wrote, not the answer
    notes: list[str] = field(default_factory=list)
    local_names: frozenset[str] = frozenset()  # modules, types ... the code declares (never a crate)
    alternatives: dict[str, str] = field(default_factory=dict)  # alternative program root -> "bin"/"lib"
    test_roots: list[str] = field(default_factory=list)  # roots also checked in test mode (``--test``)
    reading: list[dict[str, Any]] = field(default_factory=list)  # how each block was read (not a verdict input)
    package: dict[str, str] = field(default_factory=dict)  # the answer's [package] strings (for CARGO_PKG_*)

    @property
    def kind(self) -> str:
        if self.lib and (self.bins or self.tests):
            return "lib+bin"
        return "lib" if self.lib else "bin"

    @property
    def root_file(self) -> str:
        return self.lib or (self.bins[0] if self.bins else self.tests[0])

    def given_sources(self) -> list[str]:
        """The ``.rs`` files that came from the answer: each must be compiled for a pass."""
        return sorted(p for p in self.files if p.endswith(".rs") and p not in self.synthesized)

    def identity(self) -> dict[str, Any]:
        """Everything about the package that can change its verdict (part of the cache key)."""
        return {
            "files": sorted(self.files.items()),
            "lib": self.lib,
            "bins": self.bins,
            "tests": self.tests,
            "library_name": self.library_name,
            "alternatives": sorted(self.alternatives.items()),
            "test_roots": self.test_roots,
            "package": sorted(self.package.items()),
        }


def path_roots(stream: list[Token]) -> list[str]:
    """First segments of paths (``axum::``, ``::serde::``, ``extern crate x``, ``use x;``), in order."""
    roots: list[str] = []
    in_use = False  # inside `use ...;`: only the segment right after `use` (or `use ::`) is a crate
    for i, token in enumerate(stream):
        if token.kind == "punct" and token.text == ";":
            in_use = False
        if token.kind != "ident":
            continue
        if token.text == "use" and not token.raw:
            in_use = True
            continue
        prev = stream[i - 1] if i else None
        if in_use and not (
            prev is not None and (prev.text == "use" or (prev.text == "::" and i > 1 and stream[i - 2].text == "use"))
        ):
            continue
        prev2 = stream[i - 2] if i > 1 else None
        nxt = stream[i + 1] if i + 1 < len(stream) else None
        leading = prev is None or prev.text != "::" or prev2 is None or prev2.kind not in ("ident", "close")
        leading = leading or (prev2 is not None and prev2.text == "use")
        path_start = nxt is not None and nxt.text == "::" and leading and not (prev2 and prev2.text == ">")
        extern_crate = prev is not None and prev.text == "crate" and prev2 is not None and prev2.text == "extern"
        bare_use = prev is not None and prev.text == "use" and nxt is not None and nxt.text in (";", "as")
        if path_start or extern_crate or bare_use:
            roots.append(token.text)
    return roots


def declared_names(stream: list[Token]) -> set[str]:
    """Names the code itself declares (modules, types, functions ...): never a crate."""
    names: set[str] = set()
    for i, token in enumerate(stream[:-1]):
        if token.kind == "ident" and token.text in _DECLARES and stream[i + 1].kind == "ident":
            names.add(stream[i + 1].text)
    return names


def extern_crates(stream: list[Token]) -> list[tuple[str, int]]:
    found = []
    for i, token in enumerate(stream[:-2]):
        if token.text == "extern" and stream[i + 1].text == "crate" and stream[i + 2].kind == "ident":
            found.append((stream[i + 2].text, token.line))
    return found


def _root_under_another_name(files: dict[str, str], rust_paths: set[str]) -> str | None:
    """The one ``src/<name>.rs`` with a ``fn main`` that no other file declares as a module, when
    the answer gives no ``src/main.rs`` or ``src/lib.rs``: the program a book builds with
    ``rustc split.rs``, whose ``mod my;`` finds ``my.rs`` beside it."""
    if {"src/main.rs", "src/lib.rs"} & rust_paths:
        return None
    streams: dict[str, list[Token]] = {}
    for path in rust_paths:
        try:
            streams[path] = list(tokenize(files[path]))
        except LexError:
            return None
    declared = {
        stream[i + 1].text
        for stream in streams.values()
        for i in range(len(stream) - 1)
        if stream[i].kind == "ident" and stream[i].text == "mod"
    }
    roots = [
        path
        for path in sorted(rust_paths)
        if PurePosixPath(path).parent == PurePosixPath("src")
        and PurePosixPath(path).stem not in declared
        and has_main(streams[path])
    ]
    return roots[0] if len(roots) == 1 else None


def has_main(stream: list[Token]) -> bool:
    """A top-level ``fn main(``: the loose code is a binary."""
    depth = 0
    for i, token in enumerate(stream[:-2]):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 0 and token.text == "fn" and (stream[i + 1].text, stream[i + 2].text) == ("main", "("):
            return True
    return False


def guess_profile(code: str, profiles: dict[str, Profile] | None = None) -> str | None:
    """The profile the registry picks for unlabelled ``code`` (by the crates its paths name)."""
    try:
        stream = list(tokenize(code))
    except LexError:
        return None
    return choose_profile(None, path_roots(stream), profiles if profiles is not None else load_profiles())


def guess_library_name(bin_streams: list[list[Token]], profile: Profile, declared: set[str]) -> str | None:
    for stream in bin_streams:
        for root in path_roots(stream):
            if root in NOT_CRATES or root in profile.crate_names or root in declared or not root[0].islower():
                continue
            if root in {"u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
                        "f32", "f64", "str", "char", "bool"}:  # fmt: skip
                continue
            return root
    return None


def extract_crate(
    record: Record,
    profiles: dict[str, Profile],
    profile: str | None = None,
    *,
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
) -> CrateSource | Rejection:
    """The package to compile for ``record``, or why it cannot be compiled."""
    answer = record.answer
    size = len(answer.encode("utf-8", "surrogatepass"))
    if size > max_answer_bytes:
        return Rejection(f"answer too large: {size} bytes (limit {max_answer_bytes})")
    surrogate = _SURROGATE.search(answer)
    if surrogate:
        line = answer.count("\n", 0, surrogate.start()) + 1
        return Rejection(f"the answer is not valid Unicode: a lone surrogate on line {line}")
    try:
        return _extract(record, read_markdown(answer), profiles, profile)
    except LayoutError as exc:
        return Rejection(str(exc))


def _extract(
    record: Record, parsed: ParsedMarkdown, profiles: dict[str, Profile], forced: str | None
) -> CrateSource | Rejection:
    if parsed.too_deep:
        return Rejection(f"the answer nests lists or quotes more than {MAX_NESTING} deep: it cannot be read whole")
    reading = read_blocks(parsed.blocks)
    notes: list[str] = []
    rust: dict[str, list[str]] = {}
    data: dict[str, list[str]] = {}
    for rb in reading.blocks:
        if rb.role not in ("code", "data") or rb.path is None:
            continue
        is_rust = rb.role == "code"
        if not is_rust and PurePosixPath(rb.path).name == "Cargo.toml":
            continue
        path = normalise(rb.path, rust=is_rust)
        if path is None:
            rb.note = "never used (rustgate owns the manifest; build scripts do not run)"
            notes.append(f"{rb.path} is never used (rustgate owns the manifest; build scripts do not run)")
            continue
        rb.file = path
        (rust if is_rust and path.endswith(".rs") else data).setdefault(path, []).append(rb.body)
    manifest = read_manifests([rb.block for rb in reading.of("manifest")])
    if isinstance(manifest, Rejection):
        return manifest
    clash = set(rust) & set(data)
    if clash:
        raise LayoutError(f"{sorted(clash)[0]} is given both as Rust and as another language")
    files = {path: "\n".join(bodies) for path, bodies in {**data, **rust}.items()}
    rust_paths = set(rust)
    programs = [program_blocks(reading, i) for i in range(reading.programs)]
    loose = programs[0] if programs else []
    if not loose:
        renamed = _root_under_another_name(files, rust_paths)
        if renamed is not None:
            files["src/main.rs"] = files.pop(renamed)
            rust_paths = (rust_paths - {renamed}) | {"src/main.rs"}
            for rb in reading.blocks:
                if rb.file == renamed:
                    rb.file = "src/main.rs"
                    rb.note = f"{PurePosixPath(renamed).name} has `fn main` and no file declares it: the program's root"
            notes.append(
                f"{renamed} is the program's root (`rustc {PurePosixPath(renamed).name}`): compiled as src/main.rs"
            )
    globs = shared_globs(programs)
    loose_code = with_globs(joined(loose), globs) if loose else ""
    try:
        loose_stream = list(tokenize(loose_code)) if loose else []
    except LexError as exc:
        return Rejection(f"the code cannot be read as Rust (the loose blocks, {exc})")
    main_given = "src/main.rs" in rust_paths
    lib_given = "src/lib.rs" in rust_paths
    root: str | None = None
    if loose:
        root = "src/main.rs" if (has_main(loose_stream) or main_given) and not lib_given else "src/lib.rs"
        files[root] = loose_code + ("\n" + files[root] if root in files else "")
        rust_paths.add(root)
        for rb in loose:
            rb.file = root
    alternatives: dict[str, str] = {}
    for program in programs[1:]:
        if not program:
            continue
        path = f"src/rustgate_alternative_{program[-1].line}.rs"
        files[path] = with_globs(joined(program), globs)
        try:
            alternatives[path] = "bin" if has_main(list(tokenize(files[path]))) else "lib"
        except LexError as exc:
            return Rejection(f"the code cannot be read as Rust (the blocks of {path}, {exc})")
        for rb in program:
            rb.file = path if rb.file is None or len(rb.programs) == 1 else f"{rb.file}, {path}"
    bins = sorted(p for p in rust_paths if p == "src/main.rs" or _is_bin(p))
    tests = sorted(p for p in rust_paths if _is_top_level_target(p, "tests") or _is_top_level_target(p, "benches"))
    lib = "src/lib.rs" if "src/lib.rs" in rust_paths else None
    synthesized: dict[str, str] = {}
    usages = reading.of("usage")
    if lib is None and not bins and not tests:
        lib = "src/lib.rs"
        synthesized[lib] = ""
    usage_root = lib or "src/main.rs"
    if usages and usage_root not in files and usage_root not in synthesized:
        usage_root = lib = "src/lib.rs"
        synthesized[lib] = ""
    for rb in usages:
        name = f"rustgate_usage_{rb.line}"
        files[f"src/{name}.rs"] = usage_function(rb.body, rb.shape)
        rb.file = f"src/{name}.rs"
        declaration = f"\n#[allow(unused)]\nmod {name};\n"
        if usage_root in synthesized:
            synthesized[usage_root] += declaration
        else:
            files[usage_root] += declaration
    roots = {p for p in (lib, "src/main.rs" if "src/main.rs" in rust_paths else None) if p}
    synthesized = module_parents({**files, **synthesized}, roots | set(alternatives), synthesized)
    files.update(synthesized)
    check_tree(sorted(files))
    streams: dict[str, list[Token]] = {}
    for path in sorted(p for p in files if p.endswith(".rs")):
        try:
            streams[path] = list(tokenize(files[path]))
        except LexError as exc:
            return Rejection(f"{path}: the code cannot be read as Rust ({exc})")
    if not any(streams[p] for p in streams if p not in synthesized):
        return Rejection("no code: the answer's Rust blocks are empty or comments only")
    hidden = hidden_code(streams)
    if hidden:
        return Rejection(hidden[0], code="RG-HIDDEN", problems=tuple(hidden))
    problems = file_access_problems(files, streams)
    if problems:
        return Rejection(problems[0], code="RG-INCLUDE", problems=tuple(problems))
    ordered_roots = [r for path in sorted(streams) for r in path_roots(streams[path])]
    chosen = forced or choose_profile(record.crate, ordered_roots, profiles)
    if chosen is None:
        return Rejection(f"no profile for crate {record.crate!r} (known: {', '.join(sorted(profiles))})")
    if chosen not in profiles:
        return Rejection(f"unknown profile {chosen!r} (known: {', '.join(sorted(profiles))})")
    target = profiles[chosen]
    declared = set().union(*(declared_names(s) for s in streams.values()))
    refused = dependency_rejection(manifest, target, set(ordered_roots) - declared, notes)
    if refused is not None:
        return refused
    library_name = None
    if lib and (bins or tests):
        given_name = manifest.package_name
        package_name = given_name if given_name and _IDENT.fullmatch(given_name) else None
        if given_name and package_name is None:
            notes.append(f"[package] name {given_name!r} is not a crate name: not used")
        library_name = package_name or guess_library_name(
            [streams[p] for p in [*bins, *tests]], target, declared
        ) or "app"  # fmt: skip
    for path, stream in streams.items():
        for name, line in extern_crates(stream):
            if name in NOT_CRATES or name in target.crate_names or name == library_name:
                continue
            return Rejection(
                f"{path}:{line}: extern crate {name!r} is outside the {chosen} profile's pinned set",
                chosen,
                "RG-CRATE",
                missing_crates=(name,),
            )
    roots_compiled = [p for p in (lib, *bins, *alternatives) if p]
    test_roots = roots_compiled if any(has_test_code(s) for p, s in streams.items() if p not in tests) else []
    notes += [f"line {rb.line}: {rb.note}" for rb in reading.blocks if rb.role in ("ignored", "piece", "replaced")]
    return CrateSource(
        profile=chosen,
        files=files,
        lib=lib,
        bins=bins,
        tests=tests,
        library_name=library_name,
        synthesized=sorted(synthesized),
        notes=notes,
        local_names=frozenset(declared),
        alternatives=alternatives,
        test_roots=test_roots,
        reading=reading.entries(),
        package=dict(manifest.package),
    )


def _is_top_level_target(path: str, folder: str) -> bool:
    parts = PurePosixPath(path).parts
    return parts[0] == folder and (len(parts) == 2 or (len(parts) == 3 and parts[2] == "main.rs"))


def _is_bin(path: str) -> bool:
    if path.startswith("src/bin/"):
        parts = PurePosixPath(path).parts
        return len(parts) == 3 or (len(parts) == 4 and parts[3] == "main.rs")
    return path.startswith("examples/") and _is_top_level_target(path, "examples")
