"""What a run's output means: the panic it died of, and whether the outside world was to blame.

A program that needs the outside world (a model provider, a database, DNS, a file the answer
never gave, a port it may not open) cannot be judged in a sandbox that has none. Its failure is
``inconclusive``: not a pass, never a fail. Only the message the run failed with is read (the
panic, else the last lines of its error output), so a program cannot print one of these phrases
to turn a real failure into an inconclusive one while it also panics for its own reasons.
"""

from __future__ import annotations

import re

# rustc >= 1.73: "thread 'main' panicked at src/main.rs:4:5:\n<message>" (>= 1.89 adds the thread
# id: "thread 'main' (3) panicked at"); older: "thread 'main' panicked at '<message>', src/main.rs:4:5".
_THREAD = r"thread '([^']*)'(?: \(\d+\))? panicked at "
_PANIC = re.compile(_THREAD + r"([^\n']*?):(\d+):(\d+):\n(.*?)(?:\nnote: |\n\n|\Z)", re.S)
_OLD_PANIC = re.compile(_THREAD + r"'(.*?)', ([^\n]*)", re.S)

_OUTSIDE = [
    ("network", r"connection refused|os error 111|network is unreachable|os error 101|no route to host"),
    ("network", r"error sending request|error trying to connect|connection reset by peer|tcp connect error"),
    ("dns", r"dns error|failed to lookup address|name or service not known|temporary failure in name resolution"),
    ("dns", r"no address associated with hostname|nodename nor servname|could not resolve host"),
    ("api key", r"api[ _-]?key|_key\b.*\b(?:not set|missing|must be set)|environment variable not found|notpresent"),
    ("api key", r"401 unauthorized|invalid[ _]api|incorrect api key|authentication"),
    ("file", r"no such file or directory|os error 2\b|read-only file system|os error 30\b"),
    ("permission", r"permission denied|os error 13\b|operation not permitted|os error 1\b"),
    ("database", r"database|postgres|mysql|sqlite.*unable to open|redis|pool timed out"),
    ("browser", r"on non-wasm targets|wasm-bindgen"),
]
_OUTSIDE_RE = [(why, re.compile(pattern, re.I)) for why, pattern in _OUTSIDE]


def panic_message(text: str) -> str | None:
    """The first panic's message with where it happened (``msg (src/main.rs:4:5)``), if any."""
    match = _PANIC.search(text)
    if match:
        thread, file, line, column, message = match.groups()
        return f"{message.strip()[:500]} (thread '{thread}', {file}:{line}:{column})"
    old = _OLD_PANIC.search(text)
    if old:
        return f"{old.group(2).strip()[:500]} (thread '{old.group(1)}', {old.group(3).strip()})"
    return None


def panicked_threads(text: str) -> list[str]:
    return [m.group(1) for m in _PANIC.finditer(text)] + [m.group(1) for m in _OLD_PANIC.finditer(text)]


def failure_message(stderr: str) -> str:
    """What a failed run says about its failure: the panic, else its last error lines."""
    panic = panic_message(stderr)
    if panic is not None:
        return panic
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return "\n".join(lines[-3:])[-500:]


def outside_world(message: str) -> str | None:
    """What outside the answer the failure ``message`` depended on (network, dns, api key, ...)."""
    for why, pattern in _OUTSIDE_RE:
        if pattern.search(message):
            return why
    return None
