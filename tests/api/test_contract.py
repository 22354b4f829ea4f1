"""The API keeps its contract for any byte on the wire: schemathesis with all of its checks against every operation
(without keys, with a key, with keys but none sent), and the requests that once broke it, each as it was sent."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from assistant.api.middleware import RequestContext
from assistant.api.observability import Metrics
from assistant.config import Settings
from assistant.service import Service
from tests.live import LiveServer, serve

KEY = "k-contract"
EXAMPLES = 15  # per operation and generation mode; derandomized, so every run sends the same requests
SURROGATE = '"What is \\ud800?"'  # a JSON string holding a lone surrogate, as the wire carries it
# schemathesis' own expectations, plus 413: a body over 64 KiB is refused whatever it holds (documented on every
# operation; a size in bytes is not a bound JSON Schema can state)
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"]
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
CHECKS = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ACCEPTED},
            "negative_data_rejection": {"expected-statuses": REJECTED},
        }
    }
)


@pytest.fixture(scope="module")
def keyed_api(built_index: Path, service: Service) -> Iterator[LiveServer]:
    config = Settings(
        _env_file=None, data_dir=built_index, api_keys=[KEY], rate_limit_per_minute=100_000,
        auth_failures_per_minute=100_000,  # schemathesis also calls every operation without the key
    )  # fmt: skip
    with serve(config, service) as live:
        yield live


ACCESS = {
    "without keys": ("live_api", None),
    "with a key": ("keyed_api", {"Authorization": f"Bearer {KEY}"}),
    "with keys but none sent": ("keyed_api", None),
}


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
@pytest.mark.parametrize("access", list(ACCESS))
def test_every_operation_keeps_the_schema(
    request: pytest.FixtureRequest, access: str, mode: schemathesis.GenerationMode
) -> None:
    """Every check schemathesis has (status codes, content types, headers and bodies as documented, schema-valid
    input accepted, invalid input rejected, authentication not ignored, no 5xx) on every operation."""
    fixture, headers = ACCESS[access]
    live: LiveServer = request.getfixturevalue(fixture)
    api = schemathesis.openapi.from_url(f"{live.url}/openapi.json", config=CHECKS)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 17
    if mode is schemathesis.GenerationMode.NEGATIVE:  # invalid input needs a body, a query or a path to carry it
        operations = [op for op in operations if op.body or any(p.location != "header" for p in op.iter_parameters())]
        assert len(operations) >= 10
    statuses: list[tuple[str, int]] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def call(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=live.url, headers=headers, timeout=60)
            statuses.append((case.path, response.status_code))

        call()
    guarded = {status for path, status in statuses if path.startswith("/v1/")}
    if access == "with keys but none sent":  # refused before the body is read; only its size counts first
        assert 401 in guarded and guarded <= {401, 413}
    elif mode is schemathesis.GenerationMode.POSITIVE:  # the requests got through, not only refusals
        assert sum(status == 200 for _, status in statuses) > len(statuses) // 2


# 3. a lone surrogate ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/ask", f'{{"question": {SURROGATE}}}', "body.question"),
        ("/v1/ask/stream", f'{{"question": {SURROGATE}}}', "body.question"),
        ("/v1/chat/completions", f'{{"messages": [{{"role": "user", "content": {SURROGATE}}}]}}',
         "body.messages.0.content"),
        ("/v1/ask", f'{{"question": "ok?", "history": [{{"role": "user", "content": {SURROGATE}}}]}}',
         "body.history.0.content"),
        ("/v1/feedback", f'{{"answer_id": "a1", "rating": "up", "comment": {SURROGATE}}}', "body.comment"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_is_a_422_naming_the_field_and_the_connection_stays_usable(
    live_api: LiveServer, path: str, body: str, field: str
) -> None:
    with httpx.Client(base_url=live_api.url, timeout=60) as client:
        refused = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["code"] == "invalid_request" and [f["field"] for f in error["fields"]] == [field]
        assert "surrogate" in error["fields"][0]["problem"]
        assert refused.headers["x-request-id"] == error["request_id"]
        assert client.get("/v1/modes").status_code == 200  # the same keep-alive connection still serves


def test_a_refused_surrogate_logs_one_request_line_and_no_traceback(
    built_index: Path, service: Service, capfd: pytest.CaptureFixture[str]
) -> None:
    config = Settings(_env_file=None, data_dir=built_index)
    capfd.readouterr()
    with serve(config, service) as live:  # its log handler writes to this test's stderr
        body = f'{{"question": {SURROGATE}}}'
        refused = httpx.post(f"{live.url}/v1/ask", content=body, headers={"Content-Type": "application/json"})
    entries = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    mine = [e for e in entries if e["request_id"] == refused.headers["x-request-id"]]
    assert [(e["msg"], e["status"]) for e in mine] == [("request", 422)]
    assert not [e for e in entries if "exception" in e]


def test_an_unexpected_error_is_a_500_with_the_request_id_logged_once() -> None:
    """Whatever escapes a route: one log record with the traceback, and a JSON 500 carrying the request id."""

    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("the disk went away")

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("assistant.api")
    logger.addHandler(handler)
    try:
        client = TestClient(RequestContext(failing, max_body=1024, metrics=Metrics()))  # no lifespan: plain HTTP
        response = client.get("/v1/modes", headers={"X-Request-ID": "trace-500"})
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 500 and response.headers["x-request-id"] == "trace-500"
    assert response.json()["error"] == {
        "code": "internal", "message": "Something went wrong on our side.", "hint": "Report the request id.",
        "request_id": "trace-500",
    }  # fmt: skip
    failed = [r for r in records if r.exc_info]
    assert len(failed) == 1 and "the disk went away" in str(failed[0].exc_info[1])  # type: ignore[index]


# 6. client addresses and failed authentications ------------------------------------------------------------------
def forged(index: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{index}"}


@pytest.mark.parametrize(("trusted", "expected"), [([], [200] * 3 + [429] * 37), (["127.0.0.1"], [200] * 40)])
def test_x_forwarded_for_counts_only_from_trusted_proxies(
    built_index: Path, service: Service, trusted: list[str], expected: list[int]
) -> None:
    """The probe's 40 requests with 40 forged addresses, keyless, at 3 requests a minute per client."""
    config = Settings(_env_file=None, data_dir=built_index, rate_limit_per_minute=3, trusted_proxies=trusted)
    with serve(config, service) as live, httpx.Client(base_url=live.url) as client:
        assert [client.get("/v1/modes", headers=forged(i)).status_code for i in range(40)] == expected
        if trusted:  # one address behind the proxy is still limited
            assert [client.get("/v1/modes", headers=forged(7)).status_code for _ in range(3)] == [200, 200, 429]


def test_failed_authentications_are_throttled_per_client_address(built_index: Path, service: Service) -> None:
    """The probe's 200 wrong keys: after 10, even the right key is not tried from that address (429), while
    another address behind the trusted proxy is served."""
    config = Settings(_env_file=None, data_dir=built_index, api_keys=[KEY], trusted_proxies=["127.0.0.1"])
    with serve(config, service) as live, httpx.Client(base_url=live.url) as client:
        wrong = [
            client.get("/v1/modes", headers={**forged(1), "Authorization": f"Bearer guess-{i}"}) for i in range(200)
        ]
        assert [r.status_code for r in wrong] == [401] * 10 + [429] * 190
        assert int(wrong[-1].headers["retry-after"]) >= 1 and wrong[-1].json()["error"]["code"] == "rate_limited"
        right = {"Authorization": f"Bearer {KEY}"}
        assert client.get("/v1/modes", headers={**forged(1), **right}).status_code == 429
        assert client.get("/v1/modes", headers={**forged(2), **right}).status_code == 200


# 7. redirects ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/modes/", "/docs/", "/healthz/"])
def test_no_redirect_echoes_the_host_header(live_api: LiveServer, path: str) -> None:
    response = httpx.get(f"{live_api.url}{path}", headers={"Host": "evil.example"})
    assert response.status_code == 404 and "location" not in response.headers
    assert "evil.example" not in response.text


# 8. the API and its schema agree --------------------------------------------------------------------------------
def chunked(size: int) -> Iterator[bytes]:
    yield b'{"question": "'
    for _ in range(size // 1024):
        yield b"x" * 1024
    yield b'"}'


@pytest.mark.parametrize(
    ("content", "content_type", "status", "field"),
    [
        (b"\xff\xfe not text", "application/json", 422, "body"),  # not JSON: not even UTF-8
        (b"{not json", "application/json", 422, "body"),  # invalid JSON
        (b'{"question": "What is HBONE?"}', "text/plain", 422, "body"),  # JSON, but not said to be
        (b'{"question": "What is HBONE?"}', "", 422, "body"),
        (b'{"question": "   "}', "application/json", 422, "body.question"),
        (b'{"question": "' + b"x" * 4001 + b'"}', "application/json", 422, "body.question"),
        (b'{"question": "ok?", "history": ' + json.dumps([{"role": "user", "content": "hi"}] * 51).encode() + b"}",
         "application/json", 422, "body.history"),
    ],
)  # fmt: skip
def test_bodies_the_schema_forbids_get_a_422_naming_the_field(
    live_api: LiveServer, content: bytes, content_type: str, status: int, field: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.post(f"{live_api.url}/v1/ask", content=content, headers=headers, timeout=30)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["request_id"] == response.headers["x-request-id"]
    assert [f["field"] for f in error["fields"]] == [field]


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/chat/completions", "/v1/feedback"])
def test_a_chunked_body_over_64_kib_is_a_413(live_api: LiveServer, path: str) -> None:
    response = httpx.post(
        f"{live_api.url}{path}", content=chunked(70_000), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers  # sent chunked: no length to check first
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_stream_takes_only_true_or_false(live_api: LiveServer) -> None:
    body = {"messages": [{"role": "user", "content": "What is HBONE?"}], "stream": 0}
    response = httpx.post(f"{live_api.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 422 and [f["field"] for f in response.json()["error"]["fields"]] == ["body.stream"]


def test_requests_are_authenticated_before_their_bodies_are_read(keyed_api: LiveServer) -> None:
    for content in (b"{not json", b'{"question": "\\ud800"}', b"\xff"):
        response = httpx.post(f"{keyed_api.url}/v1/ask", content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_the_schema_states_bounds_streams_and_every_status(live_api: LiveServer, keyed_api: LiveServer) -> None:
    schema = httpx.get(f"{live_api.url}/openapi.json").json()
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert (ask["question"]["minLength"], ask["question"]["maxLength"], ask["history"]["maxItems"]) == (1, 4000, 50)
    paths = schema["paths"]
    for path in ("/v1/ask", "/v1/ask/stream", "/v1/chat/completions"):
        assert "text/event-stream" in paths[path]["post"]["responses"]["200"]["content"], path
    for path, operations in paths.items():
        for operation in operations.values():
            if path.startswith("/v1/"):
                assert {"401", "413", "422", "429", "503"} <= set(operation["responses"]), path
                assert all(
                    "application/json" in response["content"]
                    for status, response in operation["responses"].items()
                    if status >= "400" and "content" in response
                ), path
    assert "securitySchemes" not in schema["components"]  # no keys on this server: none to send
    keyed = httpx.get(f"{keyed_api.url}/openapi.json").json()
    scheme = keyed["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert keyed["paths"]["/v1/ask"]["post"]["security"] == [{"apiKey": []}]


# 9. /docs offline -----------------------------------------------------------------------------------------------
def test_docs_are_served_with_their_own_assets(live_api: LiveServer) -> None:
    page = httpx.get(f"{live_api.url}/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text) + re.findall(r"url: ?'([^']+)'", page.text)
    assert assets and all(asset.startswith("/") for asset in assets), assets  # nothing from another host
    for asset in assets:
        assert httpx.get(f"{live_api.url}{asset}").status_code == 200, asset
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
