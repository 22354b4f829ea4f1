"""Slack's servers, stood in for on 127.0.0.1: the Web API (and response_urls and file uploads) over HTTP, and the
Socket Mode WebSocket. Everything the app sends is recorded; the real Bolt and slack_sdk code runs against it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

JSON = "application/json"


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    authorization: str
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    raw: bytes = b""


class FakeSlack:
    """Records every request; answers the Web API like Slack (`{"ok": true, ...}`), response_urls with `ok`, file
    uploads with `OK`; `rate_limit` makes the next calls of a method answer 429 with a Retry-After."""

    def __init__(self) -> None:
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.calls: list[Call] = []
        self.socket: FakeSocketMode | None = None
        self._limited: dict[str, list[int]] = {}  # path -> [calls still refused, Retry-After]
        self._changed = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._record(dict(parse_qsl(urlsplit(self.path).query)), b"")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if urlsplit(self.path).path.startswith("/upload/"):
                    self._record({}, raw)
                    return
                json_body = self.headers.get("Content-Type", "").startswith(JSON)
                text = raw.decode()
                self._record(json.loads(text) if json_body else dict(parse_qsl(text)), raw)

            def _record(self, body: dict[str, Any], raw: bytes) -> None:
                path = urlsplit(self.path).path
                call = Call(path, body, self.headers.get("Authorization", ""), raw=raw)
                retry_after = fake._refusal(path)
                if retry_after is not None:
                    call.status = 429
                    payload = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                    self._send(JSON, payload, 429, {"Retry-After": str(retry_after)})
                elif path.startswith(("/respond/", "/upload/")):
                    self._send("text/plain", b"OK")
                else:
                    self._send(JSON, json.dumps(fake.reply(call)).encode())
                with fake._changed:
                    fake.calls.append(call)
                    fake._changed.notify_all()

            def _send(
                self, kind: str, payload: bytes, status: int = 200, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reply(self, call: Call) -> dict[str, Any]:
        if call.path == "/api/conversations.replies":
            return {"ok": True, "messages": self.threads.get((call.body["channel"], call.body["ts"]), [])}
        if call.path == "/api/chat.postMessage":
            return {"ok": True, "channel": call.body["channel"], "ts": f"{time.time():.6f}"}
        if call.path == "/api/apps.connections.open" and self.socket is not None:
            return {"ok": True, "url": self.socket.url}
        if call.path == "/api/files.getUploadURLExternal":
            file_id = f"F{uuid.uuid4().hex[:10].upper()}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if call.path == "/api/files.completeUploadExternal":
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in _files(call.body)]}
        return {"ok": True}

    def rate_limit(self, path: str, *, times: int = 1, retry_after: int = 1) -> None:
        with self._changed:
            self._limited[path] = [times, retry_after]

    def _refusal(self, path: str) -> int | None:
        with self._changed:
            limited = self._limited.get(path)
            if not limited or limited[0] <= 0:
                return None
            limited[0] -= 1
            return limited[1]

    def response_url(self) -> str:
        return f"{self.url}/respond/{uuid.uuid4().hex}"

    def reset(self) -> None:
        with self._changed:
            self.calls.clear()
            self._limited.clear()

    def matching(self, path: str, **fields: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.path == path and all(c.body.get(k) == v for k, v in fields.items())]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30, **fields: str) -> list[Call]:
        """The calls to `path` with these body fields, once there are `count` of them."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.matching(path, **fields)) >= count, timeout)
        found = self.matching(path, **fields)
        assert len(found) >= count, f"{len(found)} calls to {path} {fields}, waited for {count}"
        return found

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
        self.server.shutdown()
        self.server.server_close()


def _files(body: dict[str, Any]) -> list[dict[str, Any]]:
    files = body.get("files", "[]")
    parsed: list[dict[str, Any]] = json.loads(files) if isinstance(files, str) else files
    return parsed


class FakeSocketMode:
    """Slack's Socket Mode endpoint: says hello to each connection, sends the envelopes a test gives it, and
    records the acknowledgements (`{"envelope_id", "payload"?}`) the app sends back."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self._changed = threading.Condition()
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=fake"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, connection: ServerConnection) -> None:
        with self._changed:
            self.connections.append(connection)
            self._changed.notify_all()
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        try:
            for message in connection:
                ack = json.loads(message)
                with self._changed:
                    self.acks.append(ack)
                    self._changed.notify_all()
        except ConnectionClosed:  # the app went away without a closing handshake: a test ended
            pass

    def wait_connected(self, timeout: float = 30) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: bool(self.connections), timeout), "the app never connected"

    def send(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Deliver one envelope (`events_api`, `slash_commands` or `interactive`); its envelope id."""
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }  # fmt: skip
        self.connections[-1].send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 30) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((ack for ack in self.acks if ack.get("envelope_id") == envelope_id), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout)
            ack = found()
        assert ack is not None, f"envelope {envelope_id} was never acknowledged"
        return ack

    def close(self) -> None:
        self.server.shutdown()
