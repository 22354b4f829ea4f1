"""The gate in front of every /v1 route, before any body is read: who the client is (X-Forwarded-For only from
trusted proxies), its API key (failed attempts throttled per address), its rate limit; then the JSON body is
checked to be UTF-8 JSON whose strings are text (a lone surrogate cannot be encoded, so it is named as invalid
here rather than failing later).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
from collections.abc import Iterator, Sequence
from email.message import Message as MimeHeader
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_response, invalid_request
from assistant.api.rate_limits import RateLimit, make_storage
from assistant.config import Settings
from assistant.errors import UnavailableError

PREFIX = "/v1/"
log = logging.getLogger("assistant.api")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Gate:
    """ASGI middleware: authentication, rate limits and the body's encoding, for /v1 routes."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        storage = make_storage(settings)
        self.limiter = RateLimit("requests", settings.rate_limit_per_minute, storage)
        self.failures = RateLimit("auth-failures", settings.auth_failures_per_minute, storage)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        address = client_address(scope, headers.get("x-forwarded-for", ""), self.settings.trusted_proxies)
        try:
            client, refused = await self._admit(address, headers.get("authorization", ""))
        except UnavailableError as exc:  # the shared rate limits' Redis is down
            log.warning("refused: %s", exc.message)
            client, refused = "", error_response(503, exc.code, exc.message, exc.hint)
        if refused is None and is_json(headers.get("content-type", "")):
            body, receive = await _buffered(receive)
            refused = _checked_json(body)
        if refused is not None:
            await refused(scope, receive, send)
            return
        scope.setdefault("state", {})["client"] = client
        await self.app(scope, receive, send)

    async def _admit(self, address: str, authorization: str) -> tuple[str, JSONResponse | None]:
        """The client's identity (its key's digest, or its address without keys), or the response refusing it."""
        client = "addr:" + address
        if self.settings.api_keys:
            throttled = await self.failures.wait(client)
            if throttled:  # too many wrong keys from here: not even checked, so guessing gains nothing
                return client, _too_many(throttled, f"Too many failed authentications from {address}.")
            scheme, _, token = authorization.partition(" ")
            if not (scheme.lower() == "bearer" and any(hmac.compare_digest(token, k) for k in self.settings.api_keys)):
                await self.failures.take(client)
                message = "A valid API key is required: send `Authorization: Bearer <key>`."
                return client, error_response(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
            client = "key:" + hashlib.sha256(token.encode()).hexdigest()[:12]
        wait = await self.limiter.take(client)
        if wait:
            return client, _too_many(wait, f"Rate limit of {self.settings.rate_limit_per_minute} requests a minute.")
        return client, None


def client_address(scope: Scope, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The peer's address; behind trusted proxies, the nearest address in X-Forwarded-For that is not one."""
    peer = str(scope["client"][0]) if scope.get("client") else "unknown"
    if not _within(peer, trusted):
        return peer
    for hop in reversed([hop.strip() for hop in forwarded_for.split(",") if hop.strip()]):
        if not _within(hop, trusted):
            return hop
    return peer


def _within(address: str, networks: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def is_json(content_type: str) -> bool:
    """What FastAPI parses as JSON: application/json or application/*+json."""
    header = MimeHeader()
    header["content-type"] = content_type
    subtype = header.get_content_subtype()
    return header.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _too_many(wait: float, message: str) -> JSONResponse:
    return error_response(429, "rate_limited", message, headers={"Retry-After": str(max(1, math.ceil(wait)))})


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that hands it to the app again."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _checked_json(body: bytes) -> JSONResponse | None:
    """422 naming the problem when a JSON body is not UTF-8, not JSON, or holds a string that is not text."""
    if not body:
        return None  # no body: the route says what is missing
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return invalid_request([("body", f"the body is not UTF-8 text (byte {exc.start})")])
    except json.JSONDecodeError as exc:
        return invalid_request([("body", f"the body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")])
    fields = [
        (".".join(["body", *path]), f"a lone surrogate (U+{ord(char):04X}) is not a character; send text")
        for path, char in _surrogates(value, [])
    ]
    return invalid_request(fields) if fields else None


def _surrogates(value: Any, path: list[str]) -> Iterator[tuple[list[str], str]]:
    """(path, character) of each string in `value` (keys included) holding a lone surrogate."""
    if isinstance(value, str):
        found = next((char for char in value if 0xD800 <= ord(char) <= 0xDFFF), None)
        if found is not None:
            yield path, found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _surrogates(item, [*path, str(index)])
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key.encode("utf-8", "backslashreplace").decode()  # a bad key is named, escaped
            yield from _surrogates(key, [*path, name])
            yield from _surrogates(item, [*path, name])
