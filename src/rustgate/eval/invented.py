"""The invented-API rule: did the answer call an API that does not exist at the pinned versions?

An answer counts as *invented-API* when its compile verdict is ``fail`` and at least one
error-level diagnostic

1. has a name-resolution code (``RESOLUTION_CODES``: an import, path, function, value, type,
   trait, struct, method, associated item or field that does not exist), and
2. is not about the answer's own items: the type or trait a missing member was looked up on, the
   root of a missing path, or the module a missing name was looked up in is neither ``crate`` /
   ``self`` / ``super`` / ``Self`` nor a ``struct``/``enum``/``union``/``trait``/``type``/``mod``
   the answer's code declares.

So ``Client::from_env`` looked up on ``rig::providers::openai::Client`` counts, a method missing
on the answer's own ``struct Mine`` does not. Missing names of std and of the other pinned crates
count too (an invented method is invented wherever it would live); a typo in a local variable
(``cannot find value `reslt` in this scope``) counts as well, the one imprecision of a rule kept
syntactic so that it is exact and reproducible. Wrong signatures of real items (E0061, E0308)
are not counted: they show in compile pass@1.
"""

from __future__ import annotations

import re

from rustgate.markdown import code_blocks
from rustgate.records import Diagnostic, GateResult

RESOLUTION_CODES: dict[str, str] = {
    "E0432": "unresolved import",
    "E0433": "failed to resolve a path",
    "E0425": "unresolved function or value",
    "E0412": "unresolved type",
    "E0405": "unresolved trait",
    "E0422": "unresolved struct, variant or union",
    "E0531": "unresolved tuple struct or variant in a pattern",
    "E0599": "no such method or associated item",
    "E0609": "no such field",
    "E0560": "struct has no such field",
    "E0407": "method is not a member of the trait",
    "E0437": "type is not a member of the trait",
    "E0438": "const is not a member of the trait",
    "E0220": "associated type not found",
}
# Codes whose message names the type or trait a missing member was looked up on.
_MEMBER_CODES = {"E0599", "E0609", "E0560", "E0407", "E0437", "E0438", "E0220"}
_OWN_ROOTS = {"crate", "self", "super", "Self"}
_DECLARED = re.compile(r"\b(?:struct|enum|union|trait|type|mod)\s+([A-Za-z_]\w*)")
_TICKED = re.compile(r"`([^`]+)`")
_OWNER = re.compile(
    r"(?:for|on)\s+(?:struct|enum|union|type|trait|reference|mutable reference|opaque type|associated type)?"
    r"\s*`([^`]+)`"
    r"|(?:struct|enum|union|variant)\s+`([^`]+)`\s+has no field"
    r"|not a member of trait\s+`([^`]+)`"
    r"|not found for\s+`([^`]+)`"
)
_SCOPE = re.compile(r"in (?:module|crate|enum|trait|struct)\s+`([^`]+)`")


def declared_names(answer: str) -> set[str]:
    """Names of the items the answer's code declares itself."""
    code = "\n".join(block.body for block in code_blocks(answer))
    return set(_DECLARED.findall(code))


def _base(name: str) -> str:
    """``&mut rig::Agent<M>`` -> ``Agent``; ``axum::extract`` -> its root is taken elsewhere."""
    name = name.strip().lstrip("&").removeprefix("mut ").removeprefix("dyn ").removeprefix("impl ").strip()
    name = name.split("<", 1)[0]
    return name.rsplit("::", 1)[-1]


def _root(path: str) -> str:
    return path.strip().lstrip(":").split("::", 1)[0]


def _owner(diagnostic: Diagnostic) -> str | None:
    """The item the missing name belongs to, as far as the message says."""
    message = diagnostic.message
    if diagnostic.code in _MEMBER_CODES:
        match = _OWNER.search(message)
        if match:
            return _base(next(group for group in match.groups() if group))
        return None
    if diagnostic.code in {"E0432", "E0433"}:
        ticked = _TICKED.findall(message)
        if not ticked:
            return None
        # "cannot find `tools` in `rig`" / "could not find `x` in `y`": the last one is where it was looked up.
        return _root(ticked[-1])
    scope = _SCOPE.search(message)
    return _root(scope.group(1)) if scope else None


def invented_diagnostics(result: GateResult | None, answer: str) -> list[Diagnostic]:
    """The diagnostics that make this answer count as invented-API (empty when it does not)."""
    if result is None or result.verdict != "fail":
        return []
    own = declared_names(answer) | _OWN_ROOTS
    found = []
    for diagnostic in result.diagnostics:
        if not diagnostic.level.startswith("error") or diagnostic.code not in RESOLUTION_CODES:
            continue
        owner = _owner(diagnostic)
        if owner is not None and owner in own:
            continue
        found.append(diagnostic)
    return found
