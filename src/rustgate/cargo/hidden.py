"""Code the checks would never see: test code (checked in test mode) and code behind a ``cfg``
that is never true (refused, so hiding the shown code behind a stub is never a pass).

A ``cfg`` predicate is evaluated over what is known for every configuration the gate checks:
``any()`` is false, ``all()`` true, ``false``/``true`` as written; anything
else (``test``, platforms, features) could be true somewhere and is left alone. Code is hidden
when its predicate is false under every assignment of those unknowns.
"""

from __future__ import annotations

from rustgate.cargo.lexer import Token

Value = bool | None  # None: depends on the configuration


def has_test_code(stream: list[Token]) -> bool:
    """``#[test]``, ``#[cfg(test)]``, ``#[tokio::test]`` and the like."""
    for i, token in enumerate(stream):
        if token.kind != "ident" or token.text != "test" or i < 2:
            continue
        before = stream[i - 1].text
        if before == "[" and stream[i - 2].text == "#":
            return True
        if before == "(" and stream[i - 2].text in ("cfg", "cfg_attr"):
            return True
        if before == "::" and i >= 3 and stream[i - 3].text == "[":
            return True
    return False


def _predicate(stream: list[Token], i: int) -> tuple[Value, int]:
    """Evaluate the cfg predicate starting at ``i``: (value, index past it)."""
    token = stream[i] if i < len(stream) else None
    if token is None:
        return None, i
    nxt = stream[i + 1] if i + 1 < len(stream) else None
    if token.kind == "ident" and token.text in ("any", "all", "not") and nxt is not None and nxt.text == "(":
        values: list[Value] = []
        j = i + 2
        while j < len(stream) and stream[j].text != ")":
            value, j = _predicate(stream, j)
            values.append(value)
            if j < len(stream) and stream[j].text == ",":
                j += 1
            elif j < len(stream) and stream[j].text != ")":
                return None, _close(stream, j)
        end = j + 1
        if token.text == "not":
            return (None if not values or values[0] is None else not values[0]), end
        if token.text == "any":
            return (True if True in values else (False if all(v is False for v in values) else None)), end
        return (False if False in values else (True if all(v is True for v in values) else None)), end
    if token.kind == "ident" and token.text in ("true", "false") and not (nxt is not None and nxt.text == "="):
        return token.text == "true", i + 1
    j = i + 1
    if nxt is not None and nxt.text == "=":
        j = i + 3
    return None, j


def _close(stream: list[Token], j: int) -> int:
    depth = 0
    while j < len(stream):
        if stream[j].kind == "open":
            depth += 1
        elif stream[j].kind == "close":
            if depth == 0:
                return j + 1
            depth -= 1
        j += 1
    return j


def hidden_code(streams: dict[str, list[Token]]) -> list[str]:
    """``path:line: ...`` for every ``#[cfg(...)]``/``#![cfg(...)]`` that is never true."""
    found = []
    for path, stream in sorted(streams.items()):
        for i, token in enumerate(stream):
            if token.text != "cfg" or i < 2 or i + 1 >= len(stream) or stream[i + 1].text != "(":
                continue
            inner = stream[i - 2].text == "#" and stream[i - 1].text == "["
            crate_level = i >= 3 and stream[i - 3].text == "#" and stream[i - 2].text == "!"
            if not (inner or (crate_level and stream[i - 1].text == "[")):
                continue
            value, _ = _predicate(stream, i + 2)
            if value is False:
                what = "the whole file" if crate_level else "the item after it"
                found.append(f"{path}:{token.line}: a cfg that is never true hides {what}: it is never compiled")
    return found
