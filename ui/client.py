"""An HTTP client of the Mesh Assistant API, with Server-Sent Events parsing. No Streamlit in here.

Exceptions:

    ApiError                  the API answered with an error: its body's message and hint, or what was wrong
     └── ApiUnreachableError  no usable answer at all: refused connection, unknown host, timeout, broken stream

The JSON shapes the UI reads are spelled out as TypedDicts below; they mirror the API's response models
(`assistant/domain/answers.py`, `assistant/domain/recommendation.py`) without importing them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict, cast

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
START_HINT = "Start it with `make run` or `assistant serve`, or set ASSISTANT_API_URL to where it runs."
MAX_HISTORY_TURNS = 50  # the API's limit (AskRequest.history)
MAX_TURN_CHARS = 20_000  # the API's limit per history turn


# --- the JSON shapes -----------------------------------------------------------------------------------------


class Citation(TypedDict):
    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    source_url: str
    snippet: str
    modes: list[str]


class Reason(TypedDict):
    text: str
    ref: str


class RankedMode(TypedDict):
    mode: str
    rank: int
    score: float
    reasons: list[Reason]
    caveats: list[Reason]


class ExcludedMode(TypedDict):
    mode: str
    reason: Reason


class Counterfactual(TypedDict):
    text: str
    mode: str
    change: dict[str, str]


class Source(TypedDict):
    url: str
    doc: str
    section: str


class ComponentEstimate(TypedDict):
    component: str
    label: str
    per: str
    copies: int
    cpu_millicores: float | None
    memory_mb: float | None
    basis: str
    figure: str
    source: Source
    read: str


class ModeEstimate(TypedDict):
    mode: str
    cpu_millicores: float | None
    memory_mb: float | None
    complete: bool
    components: list[ComponentEstimate]
    notes: list[str]


class Estimate(TypedDict):
    cluster: dict[str, Any]
    modes: list[ModeEstimate]
    assumptions: list[str]
    as_of: str


class Recommendation(TypedDict):
    requirements: dict[str, Any]
    ranking: list[RankedMode]
    excluded: list[ExcludedMode]
    assumptions: list[str]
    counterfactuals: list[Counterfactual]
    estimate: NotRequired[Estimate | None]


class Confidence(TypedDict):
    score: float
    label: Literal["high", "medium", "low"]


class Answer(TypedDict):
    id: str
    question: str
    text: str
    intent: str
    kind: str
    citations: list[Citation]
    recommendation: Recommendation | None
    confidence: Confidence
    refused: bool
    notes: list[str]
    requirements: dict[str, Any]


class Rating(TypedDict):
    score: int
    rationale: str
    source: Source


class Ratings(TypedDict):
    modes: list[str]
    dimensions: dict[str, dict[str, str]]
    ratings: dict[str, dict[str, Rating]]
    capabilities: dict[str, dict[str, Any]]


class FeatureCell(TypedDict):
    status: str
    since: str
    since_date: str
    note: str
    source: str
    read: str


class FeatureRow(TypedDict):
    label: str
    group: str
    need: str
    differs: bool
    modes: dict[str, FeatureCell]


class Features(TypedDict):
    as_of: str
    modes: list[str]
    features: dict[str, FeatureRow]


class Turn(TypedDict):
    role: Literal["user", "assistant"]
    content: str


# --- settings and errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiSettings:
    """Where the API is and how to authenticate; read from the environment when asked, never at import."""

    url: str = DEFAULT_API_URL
    key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if environ is None else environ
        url = (env.get("ASSISTANT_API_URL") or "").strip().rstrip("/") or DEFAULT_API_URL
        return cls(url=url, key=(env.get("ASSISTANT_API_KEY") or "").strip() or None)


class ApiError(Exception):
    """The API answered with an error (or with something that is not the Mesh Assistant API)."""

    def __init__(self, message: str, *, hint: str = "", code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class ApiUnreachableError(ApiError):
    """No usable answer from the API at all."""


# --- Server-Sent Events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str


@dataclass(frozen=True)
class Delta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class Final:
    """The whole answer, after the last piece."""

    answer: Answer


def parse_sse(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Events from the lines of a `text/event-stream` body (the WHATWG rules the UI needs: event, data, comments)."""
    name, data = "", list[str]()
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield ServerEvent(event=name or "message", data="\n".join(data))
            name, data = "", list[str]()
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:
        yield ServerEvent(event=name or "message", data="\n".join(data))


# --- the client ----------------------------------------------------------------------------------------------


class MeshClient:
    """One method per endpoint the UI uses; every failure is an ApiError with a message for people."""

    def __init__(
        self, settings: ApiSettings, *, timeout: float = 60.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.timeout = httpx.Timeout(timeout, connect=5.0)
        self.transport = transport

    @property
    def url(self) -> str:
        return self.settings.url

    def ready(self) -> dict[str, Any]:
        """GET /readyz: the index is open and the model loaded (else the API's 503 message and hint)."""
        return cast(dict[str, Any], self._request("GET", "/readyz", timeout=5.0))

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        return cast(Answer, self._request("POST", "/v1/ask", json=_ask_body(question, history)))

    def stream_ask(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Delta | Final]:
        """POST /v1/ask/stream: the text in pieces as they arrive, then the whole answer."""
        try:
            with (
                self._http() as http,
                http.stream(
                    "POST", "/v1/ask/stream", json=_ask_body(question, history), headers={"Accept": "text/event-stream"}
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    response.read()  # a server that answers in one piece
                    yield Final(cast(Answer, self._json(response)))
                    return
                for event in parse_sse(response.iter_lines()):
                    if event.event == "delta":
                        yield Delta(str(_loads(event.data).get("text", "")))
                    elif event.event == "answer":
                        yield Final(cast(Answer, _loads(event.data)))
                        return
                    elif event.event == "error":
                        raise _error_from_body(_loads(event.data), status=None, fallback="The answer failed.")
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        raise ApiError(
            "The answer stream ended before the whole answer arrived.",
            hint="Ask again; if it keeps happening, check the API's log.",
        )

    def recommend(self, requirements: Mapping[str, Any]) -> Recommendation:
        body = {"requirements": dict(requirements)}
        return cast(Recommendation, self._request("POST", "/v1/recommend", json=body))

    def estimate(self, cluster: Mapping[str, Any]) -> Estimate:
        """POST /v1/estimate: each mode's data-plane CPU and memory for the cluster, with the figures cited."""
        return cast(Estimate, self._request("POST", "/v1/estimate", json=dict(cluster)))

    def decision_record(self, requirements: Mapping[str, Any]) -> str:
        """POST /v1/decision-record: the recommendation for `requirements` as a decision record in Markdown."""
        body = {"requirements": dict(requirements)}
        return cast(str, self._request("POST", "/v1/decision-record", json=body, as_text=True))

    def ratings(self) -> Ratings:
        return cast(Ratings, self._request("GET", "/v1/ratings"))

    def features(self) -> Features:
        return cast(Features, self._request("GET", "/v1/features"))

    def feedback(self, answer_id: str, rating: Literal["up", "down"], comment: str = "") -> dict[str, Any]:
        body = {"answer_id": answer_id, "rating": rating, "comment": comment}
        return cast(dict[str, Any], self._request("POST", "/v1/feedback", json=body))

    def feedback_summary(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._request("GET", "/v1/feedback/summary"))

    # --- plumbing ---

    @contextmanager
    def _http(self, timeout: float | None = None) -> Iterator[httpx.Client]:
        headers = {"User-Agent": "mesh-assistant-ui"}
        if self.settings.key:
            headers["Authorization"] = f"Bearer {self.settings.key}"
        with httpx.Client(
            base_url=self.settings.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)) if timeout else self.timeout,
            transport=self.transport,
        ) as http:
            yield http

    def _request(
        self, method: str, path: str, *, json: Any = None, timeout: float | None = None, as_text: bool = False
    ) -> Any:
        try:
            with self._http(timeout) as http:
                response = http.request(method, path, json=json)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response.text if as_text else self._json(response)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"The server at {self.url} did not answer like the Mesh Assistant API.",
                hint="Check that ASSISTANT_API_URL points at the Mesh Assistant API.",
                status=response.status_code,
            ) from exc

    def _error(self, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        fallback = f"The API at {self.url} answered {response.status_code} {response.reason_phrase}."
        error = _error_from_body(body, status=response.status_code, fallback=fallback)
        if response.status_code == 401 and not error.hint:
            error.hint = "Set ASSISTANT_API_KEY for the UI to one of the API's ASSISTANT_API_KEYS."
        if not error.hint and not isinstance(body, dict):
            error.hint = "Check that ASSISTANT_API_URL points at the Mesh Assistant API."
        return error

    def _unreachable(self, exc: httpx.TransportError) -> ApiUnreachableError:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return ApiUnreachableError(
                f"The Mesh Assistant API at {self.url} did not answer in time ({detail}).",
                hint="Check that it is running and not overloaded, then ask again.",
                code="timeout",
            )
        if isinstance(exc, httpx.ConnectError):
            return ApiUnreachableError(
                f"Cannot reach the Mesh Assistant API at {self.url}.", hint=START_HINT, code="unreachable"
            )
        return ApiUnreachableError(
            f"The connection to the Mesh Assistant API at {self.url} broke off ({detail}).",
            hint="Check that the API is still running, then ask again.",
            code="broken",
        )


def _ask_body(question: str, history: Sequence[Turn]) -> dict[str, Any]:
    turns = [
        {"role": turn["role"], "content": turn["content"][:MAX_TURN_CHARS]}
        for turn in history
        if turn["content"].strip()
    ]
    return {"question": question, "history": turns[-MAX_HISTORY_TURNS:]}


def _loads(data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ApiError("The API sent an event that is not JSON.", hint="Check the API's version and log.") from exc
    if not isinstance(value, dict):
        raise ApiError("The API sent an unexpected event.", hint="Check the API's version and log.")
    return value


def _error_from_body(body: Any, *, status: int | None, fallback: str) -> ApiError:
    """The `{"error": {"code", "message", "hint"}}` body as an ApiError (or the fallback message)."""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict) or not detail.get("message"):
        return ApiError(fallback, status=status)
    message = str(detail["message"])
    fields = detail.get("fields") or []
    problems = "; ".join(
        f"{f.get('field', '')}: {f.get('problem', '')}" for f in fields if isinstance(f, dict) and f.get("problem")
    )
    hint = str(detail.get("hint") or "")
    if problems:
        hint = f"{problems}. {hint}".strip()
    return ApiError(message, hint=hint, code=str(detail.get("code") or ""), status=status)
