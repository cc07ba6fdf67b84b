"""A local HTTP server speaking the Anthropic Messages and OpenAI Chat Completions wire formats.

No LLM API is reachable from development or CI machines, so tests and benchmarks drive the
real ``anthropic`` and ``openai`` SDKs against this server via ``base_url``. Replies come from a
scripted queue (including faults: 429 with Retry-After, 500, slow replies, malformed JSON,
out-of-range scores) and, when the queue has nothing for a request, from a responder function.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class LLMRequestLog:
    """One request as the server saw it, normalised across the two wire formats."""

    api: str  # "anthropic" or "openai"
    model: str
    system: str
    messages: list[dict[str, Any]]
    structured: bool
    tool_name: str | None
    body: dict[str, Any]

    @property
    def last_user(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""

    @property
    def text(self) -> str:
        """Everything the prompt says, for matching scripted replies."""
        return self.system + "\n" + "\n".join(_text_of(m.get("content")) for m in self.messages)


@dataclass
class Reply:
    """What to send back for one request: a body, a fault, or both after a delay."""

    status: int = 200
    text: str | None = None
    data: dict[str, Any] | None = None
    raw: str | None = None  # sent verbatim (malformed JSON on the wire)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    when: str | None = None  # only consumed by a request whose prompt contains this text

    @classmethod
    def ok_text(cls, text: str, **kw: Any) -> Reply:
        return cls(text=text, **kw)

    @classmethod
    def ok_data(cls, data: dict[str, Any], **kw: Any) -> Reply:
        return cls(data=data, **kw)

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0, **kw: Any) -> Reply:
        return cls(status=429, headers={"retry-after": f"{retry_after:g}"}, **kw)

    @classmethod
    def server_error(cls, status: int = 500, **kw: Any) -> Reply:
        return cls(status=status, **kw)

    @classmethod
    def malformed_wire(cls, **kw: Any) -> Reply:
        return cls(raw='{"id": "msg_1", "content": [', **kw)


Responder = Callable[[LLMRequestLog], Reply]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def default_responder(request: LLMRequestLog) -> Reply:
    """A passing judge verdict for structured requests, a small Rust answer for generation
    (its instruction names the requested topic and variant, so each spec gets its own pair)."""
    wants_pair = request.tool_name == "submit_pair" or "instruction" in json.dumps(
        request.body.get("response_format", {})
    )
    if wants_pair:
        lines = request.text.splitlines()
        topic = next((line for line in lines if line.startswith("Topic:")), "")
        variant = next((line.split(":")[0] for line in lines if line.startswith("Variant ")), "")
        return Reply.ok_data(
            {
                "instruction": f"Write a Rust function that adds two numbers. {topic} {variant}".strip(),
                "answer": "Here it is:\n\n```rust\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n```\n",
            }
        )
    if request.structured:
        return Reply.ok_data(judge_scores(8))
    return Reply.ok_text("```rust\nfn main() {}\n```")


def judge_scores(value: int | dict[str, int], rationale: str = "Looks right.") -> dict[str, Any]:
    dims = ("correctness", "completeness", "idiomatic", "crate_knowledge", "explanation")
    scores = value if isinstance(value, dict) else dict.fromkeys(dims, value)
    return {"rationale": rationale, "scores": scores}


class LLMServer:
    """``with LLMServer() as server:`` gives ``server.url`` (Anthropic) and ``server.openai_url``."""

    def __init__(self, *, latency_s: float = 0.0, responder: Responder | None = None) -> None:
        self.latency_s = latency_s
        self.responder = responder or default_responder
        self.requests: list[LLMRequestLog] = []
        self.completed = 0
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, port: int = 0) -> LLMServer:
        server = self

        class Handler(_Handler):
            owner = server

        httpd = _QuietServer(("127.0.0.1", port), Handler, bind_and_activate=False)
        httpd.daemon_threads = True
        httpd.request_queue_size = 512
        httpd.allow_reuse_address = True
        httpd.server_bind()
        httpd.server_activate()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="llm-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    # -- script -----------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _next_reply(self, request: LLMRequestLog) -> Reply:
        with self._lock:
            self.requests.append(request)
            for i, reply in enumerate(self._script):
                if reply.when is None or reply.when in request.text:
                    return self._script.pop(i)
        return self.responder(request)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the SIGKILL test) is expected, not news.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: LLMServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes: without TCP_NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        return

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"type": "invalid_request_error", "message": "bad json"}})
            return
        if self.path.rstrip("/").endswith("/messages"):
            api = "anthropic"
        elif self.path.rstrip("/").endswith("/chat/completions"):
            api = "openai"
        else:
            self._send(404, {"error": {"type": "not_found_error", "message": self.path}})
            return
        request = _parse(api, body)
        reply = self.owner._next_reply(request)
        delay = self.owner.latency_s + reply.delay_s
        if delay:
            time.sleep(delay)
        if reply.raw is not None:
            self._send(reply.status, reply.raw, reply.headers)
        elif reply.status != 200:
            self._send(reply.status, _error_body(api, reply.status), reply.headers)
        elif api == "anthropic":
            self._send(200, _anthropic_body(request, reply), reply.headers)
        else:
            self._send(200, _openai_body(request, reply), reply.headers)
        with self.owner._lock:
            self.owner.completed += 1

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        blob = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(blob)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(blob)


def _parse(api: str, body: dict[str, Any]) -> LLMRequestLog:
    messages = list(body.get("messages") or [])
    if api == "anthropic":
        system = _text_of(body.get("system") or "")
        tools = body.get("tools") or []
        tool_name = tools[0].get("name") if tools else None
        return LLMRequestLog(api, str(body.get("model")), system, messages, bool(tools), tool_name, body)
    system = "\n".join(_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    rest = [m for m in messages if m.get("role") not in ("system", "developer")]
    fmt = body.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, dict) else None
    return LLMRequestLog(api, str(body.get("model")), system, rest, bool(fmt), name, body)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _anthropic_body(request: LLMRequestLog, reply: Reply) -> dict[str, Any]:
    if reply.data is not None:
        content: list[dict[str, Any]] = [
            {"type": "tool_use", "id": "toolu_01", "name": request.tool_name or "tool", "input": reply.data}
        ]
        out_text, stop = json.dumps(reply.data), "tool_use"
    else:
        out_text, stop = reply.text or "", "end_turn"
        content = [{"type": "text", "text": out_text}]
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": _tokens(request.text), "output_tokens": _tokens(out_text)},
    }


def _openai_body(request: LLMRequestLog, reply: Reply) -> dict[str, Any]:
    out_text = json.dumps(reply.data) if reply.data is not None else (reply.text or "")
    prompt_tokens, completion_tokens = _tokens(request.text), _tokens(out_text)
    return {
        "id": "chatcmpl-01",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": out_text, "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error_body(api: str, status: int) -> dict[str, Any]:
    kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
    if status == 401:
        kind = "authentication_error"
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": f"scripted {status}"}}
    return {"error": {"message": f"scripted {status}", "type": kind, "code": None, "param": None}}


def repairing_responder(broken_every: int) -> Responder:
    """Like ``default_responder``, but every ``broken_every``-th generation topic first gets an
    answer rustc rejects (E0308); the repair request (it quotes the compiler) gets a fixed one."""

    def respond(request: LLMRequestLog) -> Reply:
        reply = default_responder(request)
        if reply.data is None or "answer" not in reply.data or "compiler rejected" in request.last_user:
            return reply
        topic = next((line for line in request.last_user.splitlines() if line.startswith("Topic:")), "")
        if broken_every and sum(topic.encode()) % broken_every == 0:
            broken = 'Here it is:\n\n```rust\npub fn add(a: i32, b: i32) -> i32 {\n    "sum"\n}\n```\n'
            return Reply.ok_data({**reply.data, "answer": broken})
        return reply

    return respond


def main(argv: list[str] | None = None) -> None:
    """``python -m rustgate.testing.llm_server``: serve in the foreground, printing the URL."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every reply")
    parser.add_argument("--broken-every", type=int, default=0, help="see repairing_responder")
    args = parser.parse_args(argv)
    responder = repairing_responder(args.broken_every) if args.broken_every else None
    server = LLMServer(latency_s=args.latency, responder=responder).start(args.port)
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
