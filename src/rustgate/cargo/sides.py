"""The two halves of a fullstack answer: its library compiled again as the client build.

A leptos fullstack app is one package built twice: the server with ``ssr`` (the binary and the
library), and the library again with ``hydrate`` for the browser. Code that type-checks on one
side only is code that does not build: a ``use sqlx::...`` outside ``#[cfg(feature = "ssr")]``,
a broken ``#[cfg(feature = "hydrate")] pub fn hydrate()``. So an answer of a profile with a
``client`` profile passes only when its server side passes and its library then passes as the
client. The client side compiles the library alone (its binaries are server programs), and a
crate the server pins but the client does not is the code's error (a server-only crate used on
the client), not a crate outside the profile.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rustgate.cargo.extract import CrateSource
from rustgate.cargo.replay import CheckOutcome
from rustgate.cargo.templates import Profile
from rustgate.records import Diagnostic

SERVER_ONLY = "RG-SERVER-ONLY"


def client_source(source: CrateSource, client: str) -> CrateSource | None:
    """The package the client build compiles: the library (and library alternatives) alone."""
    if source.lib is None:
        return None
    libraries = {source.lib} | {path for path, kind in source.alternatives.items() if kind == "lib"}
    return replace(
        source,
        profile=client,
        bins=[],
        tests=[],
        alternatives={path: kind for path, kind in source.alternatives.items() if kind == "lib"},
        test_roots=[root for root in source.test_roots if root in libraries],
    )


def _side(profile: str, outcome: CheckOutcome) -> dict[str, Any]:
    return {"profile": profile, "verdict": outcome.verdict, "duration_s": round(outcome.duration_s, 4)}


def not_checked(server: CheckOutcome, server_profile: str, client: str) -> CheckOutcome:
    """The server side did not pass: the client side would not change the verdict."""
    server.details["sides"] = {
        "server": _side(server_profile, server),
        "client": {"profile": client, "verdict": "not checked", "why": "the server side did not pass"},
    }
    return server


def merge_sides(server: CheckOutcome, client: CheckOutcome, server_profile: Profile, client_name: str) -> CheckOutcome:
    """One verdict for the answer: the server's when the client passes too, else the client's."""
    duration = server.duration_s + client.duration_s
    if client.verdict == "pass":
        server.details["sides"] = {"server": _side(server_profile.name, server), "client": _side(client_name, client)}
        server.duration_s = duration
        return server
    details = {**client.details, "failed_side": "client"}
    verdict, reason, diagnostics = client.verdict, client.reason, client.diagnostics
    missing = list(client.details.get("missing_crates") or [])
    server_only = [name for name in missing if server_profile.allows(name)]
    if verdict == "rejected" and missing and len(server_only) == len(missing):
        # The server build has these crates; the client build cannot: the code forgot its cfg.
        names = ", ".join(f"`{n}`" for n in server_only)
        reason = (
            f'uses {names} outside `#[cfg(feature = "ssr")]`: a server-only crate, so the client '
            f"({client_name}) build of the library does not compile"
        )
        where = next((d for d in diagnostics if d.code != "RG-CRATE" and d.file), None)
        note = Diagnostic(
            level="error",
            code=SERVER_ONLY,
            message=reason,
            file=where.file if where else None,
            line=where.line if where else None,
            column=where.column if where else None,
        )
        diagnostics = [note, *(d for d in diagnostics if d.code != "RG-CRATE")]
        details.pop("missing_crates", None)
        details["server_only_crates"] = server_only
        verdict = "fail"
    if reason is not None and verdict in ("fail", "rejected", "timeout"):
        reason = f"client side ({client_name}): {reason}"
    merged = CheckOutcome(verdict, diagnostics, reason, client.duration_s, details)
    details["sides"] = {"server": _side(server_profile.name, server), "client": _side(client_name, merged)}
    merged.duration_s = duration
    return merged
