"""The Streamlit UI through AppTest against the real API (tests/live.py), and its HTTP client on its own."""

from __future__ import annotations

import ast
import json
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow  # type: ignore[import-untyped]
import pytest
from streamlit.testing.v1 import AppTest

from assistant.config import Settings
from assistant.domain.requirements import Requirements
from tests.live import LiveServer, free_port, serve
from ui import app
from ui.client import (
    Answer,
    ApiError,
    ApiSettings,
    ApiUnreachableError,
    Delta,
    Final,
    MeshClient,
    ServerEvent,
    parse_sse,
)
from ui.render import CAVEAT, EXCLUDED, safe_markdown
from ui.transcript import Message, conversation_markdown, history, mode_label

UI = Path(__file__).resolve().parents[2] / "ui"
BANK = "We're a bank with strict isolation needs. Which mode?"


def start(url: str, monkeypatch: pytest.MonkeyPatch, *, key: str | None = None) -> AppTest:
    monkeypatch.setenv("ASSISTANT_API_URL", url)
    if key:
        monkeypatch.setenv("ASSISTANT_API_KEY", key)
    at = AppTest.from_file(str(UI / "app.py"), default_timeout=60).run()
    assert not at.exception
    return at


@pytest.fixture
def ui(live_api: LiveServer, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return start(live_api.url, monkeypatch)


@pytest.fixture
def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    return at


def texts(block: Any) -> list[str]:
    return [str(element.value) for element in block.markdown]


def conversation(at: AppTest) -> list[Message]:
    found: list[Message] = at.session_state["messages"]
    return found


def last_answer(at: AppTest) -> Answer:
    answer = conversation(at)[-1].get("answer")
    assert answer is not None, conversation(at)[-1]
    return answer


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def assert_card_shows_caveats_and_exclusions(block: Any, recommendation: dict[str, Any]) -> None:
    """Each ranked mode's caveats in its own expander (marked as caveats), and every excluded mode with its reason.

    The expected text is the API's recommendation, escaped as the card escapes it; a caveat or an exclusion
    the card drops, moves to another mode or shows as a reason fails here.
    """
    explained = [item for item in recommendation["ranking"] if item["reasons"] or item["caveats"]]
    expanders = [e for e in block.expander if "reason" in e.label or "caveat" in e.label]
    assert len(expanders) == len(explained)  # one per ranked mode, in ranking order
    for item, expander in zip(explained, expanders, strict=True):
        count = len(item["caveats"])
        if count:
            assert expander.label.endswith(f"{count} caveat" if count == 1 else f"{count} caveats")
        lines = "\n".join(texts(expander)).splitlines()
        for caveat in item["caveats"]:
            assert any(line.startswith(f"- {CAVEAT} {safe_markdown(caveat['text'])}") for line in lines), caveat
    shown = texts(block)
    if not recommendation["excluded"]:
        assert "**Excluded**" not in shown
        return
    assert "**Excluded**" in shown
    listed = shown[shown.index("**Excluded**") + 1].splitlines()
    assert len(listed) == len(recommendation["excluded"])
    for line, excluded in zip(listed, recommendation["excluded"], strict=True):
        label, reason = mode_label(excluded["mode"]), safe_markdown(excluded["reason"]["text"])
        assert line.startswith(f"- {EXCLUDED} **{label}**: {reason}"), (line, excluded)


# --- the chat ------------------------------------------------------------------------------------------------


def test_ask_shows_the_cited_answer_with_its_sources_and_card(ui: AppTest, live_api: LiveServer) -> None:
    ask(ui, BANK)

    user, assistant = ui.chat_message
    assert (user.name, assistant.name) == ("user", "assistant")
    assert texts(user) == [BANK]
    answer = last_answer(ui)
    expected = httpx.post(f"{live_api.url}/v1/ask", json={"question": BANK}, timeout=30).json()
    assert answer["text"] == expected["text"]  # the streamed answer is the API's answer
    body = texts(assistant)
    assert body[0].startswith("**Sidecar** is the best fit")
    assert "[1]" in body[0]  # inline markers kept
    sources = next(e for e in assistant.expander if e.label.startswith("Sources"))
    assert sources.label == f"Sources ({len(expected['citations'])})"
    shown = "\n".join(texts(sources))
    for citation in expected["citations"]:
        assert f"[{citation['n']}] {citation['title']}" in shown
        assert citation["source_url"] in shown
        assert citation["snippet"][:40] in shown
    assert any(t.startswith("Best fit: **Sidecar**") for t in body)
    bars = [p.proto.text for p in assistant.get("progress")]
    assert bars[0] == f"**1. Sidecar** — score {expected['recommendation']['ranking'][0]['score']:.2f}"
    assert len(bars) == len(expected["recommendation"]["ranking"])
    assert "**What would change this**" in body
    assert any("Ambient would lead" in t for t in body)
    reasons = "\n".join(t for e in assistant.expander if "reason" in e.label for t in texts(e))
    assert "Sidecar is rated 5/5 for security" in reasons
    assert "[1]" in reasons  # the card's reasons point at the same numbered sources
    assert any(item["caveats"] for item in expected["recommendation"]["ranking"])  # so the caveats are checked
    assert_card_shows_caveats_and_exclusions(assistant, expected["recommendation"])
    assert len(ui.feedback) == 1
    assert not ui.error


def test_an_example_question_is_asked_with_one_click(ui: AppTest) -> None:
    examples = [b for b in ui.button if b.label in app.EXAMPLES]
    assert [b.label for b in examples] == list(app.EXAMPLES)
    examples[0].click().run()

    assert not ui.exception
    assert [m["role"] for m in conversation(ui)] == ["user", "assistant"]
    assert conversation(ui)[0]["content"] == app.EXAMPLES[0]
    assert last_answer(ui)["recommendation"] is not None
    assert not [b for b in ui.button if b.label in app.EXAMPLES]  # the examples are for an empty chat only


def test_follow_up_questions_carry_the_conversation(ui: AppTest) -> None:
    ask(ui, BANK)
    ask(ui, "And if resource usage matters a lot to us too?")

    assert len(ui.chat_message) == 4
    requirements = last_answer(ui)["requirements"]  # type: ignore[typeddict-item]
    assert requirements["regulated"] is True  # stated in the first turn, so the history reached the API
    assert requirements["resources"] == "high"


def test_low_confidence_and_refusals_are_flagged(ui: AppTest) -> None:
    ask(ui, "How many GitHub stars does Istio have?")

    answer = last_answer(ui)
    assert answer["confidence"]["label"] == "low"
    assert any(w.value.startswith("Low confidence (0.20)") for w in ui.warning)
    assert not ui.get("progress")  # no card for a refusal


def test_new_chat_clears_the_conversation_and_download_holds_it(ui: AppTest) -> None:
    download = ui.get("download_button")[0]
    assert download.proto.disabled  # nothing to download yet
    ask(ui, BANK)
    assert not ui.get("download_button")[0].proto.disabled

    markdown = conversation_markdown(conversation(ui), api_url="http://api")
    assert f"## You\n\n{BANK}" in markdown
    assert last_answer(ui)["text"] in markdown
    assert "\nSources:\n\n1. [Ratings: Sidecar — Security](https://" in markdown
    assert "**Ranking:** 1. Sidecar (0.83)" in markdown

    button(ui, "New chat").click().run()
    assert conversation(ui) == []
    assert not ui.chat_message
    assert [b.label for b in ui.button if b.label in app.EXAMPLES] == list(app.EXAMPLES)


@pytest.mark.parametrize("rating", [1, 0])
def test_feedback_reaches_the_api(ui: AppTest, live_api: LiveServer, rating: int) -> None:
    ask(ui, BANK)
    answer_id = last_answer(ui)["id"]
    ui.feedback[0].set_value(rating).run()

    assert not ui.exception
    expected = "up" if rating == 1 else "down"
    summary = httpx.get(f"{live_api.url}/v1/feedback/summary").json()
    assert {"answer_id": answer_id, "rating": expected}.items() <= next(
        r for r in summary["recent"] if r["answer_id"] == answer_id
    ).items()
    recorded = [r for r in live_api.service.feedback_summary().recent if r.answer_id == answer_id]
    assert [r.rating for r in recorded] == [expected]
    assert any(c.value.startswith("Thanks") for c in ui.caption)


# --- the requirements form and the ratings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stated", "first", "excluded"),
    [
        ({"security": "high", "regulated": True}, "sidecar", []),
        ({"simplicity": "high"}, "ambient", []),
        ({"cilium": True}, "cilium", []),
        ({"grpc": "none"}, "ambient", ["grpc"]),  # proxyless meshes only gRPC traffic: a hard rule
        ({"no_restarts": True}, "ambient", ["sidecar", "grpc"]),  # both need restarts to enrol
    ],
)
def test_the_requirements_form_ranks_the_modes(
    ui: AppTest, live_api: LiveServer, stated: dict[str, str | bool], first: str, excluded: list[str]
) -> None:
    for name, value in stated.items():
        if value is True:
            ui.checkbox(key=f"req-{name}").check()
        elif name in app.PRIORITIES:
            ui.select_slider(key=f"req-{name}").set_value(value)
        else:
            ui.selectbox(key=f"req-{name}").set_value(value)
    button(ui, "Recommend").click().run()

    assert not ui.exception
    assert ui.segmented_control[0].value == app.RECOMMENDATION
    recommendation = ui.session_state["form_result"]["recommendation"]
    body = {**dict.fromkeys(app.PRIORITIES, "medium"), **stated}
    expected = httpx.post(f"{live_api.url}/v1/recommend", json={"requirements": body}).json()
    assert recommendation == expected
    assert recommendation["ranking"][0]["mode"] == first
    assert [item["mode"] for item in expected["excluded"]] == excluded
    shown = texts(ui.main)
    label = mode_label(first)
    assert any(t.startswith(f"Best fit: **{label}**") for t in shown)
    assert [p.proto.text.split("** —")[0] for p in ui.main.get("progress")] == [
        f"**{r['rank']}. {mode_label(r['mode'])}" for r in expected["ranking"]
    ]
    assert any(item["caveats"] for item in expected["ranking"])  # so the caveats are checked
    assert_card_shows_caveats_and_exclusions(ui.main, expected)
    assert ("**What would change this**" in shown) == bool(expected["counterfactuals"])
    assert any("([source](https://" in t for t in shown)  # reasons link to their rating's source


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ({}, "Enter the number of nodes and of meshed pods."),
        ({"est-nodes": 2, "est-pods": 10, "est-zones": 3}, "zones (3) cannot exceed nodes (2)"),
    ],
)
def test_the_estimate_view_says_what_is_wrong_with_the_numbers(
    ui: AppTest, numbers: dict[str, int], message: str
) -> None:
    ui.segmented_control[0].set_value(app.ESTIMATE).run()
    for key, value in numbers.items():
        ui.number_input(key=key).set_value(value)
    button(ui, "Estimate").click().run()
    assert not ui.exception
    assert [e.value for e in ui.error] and message in ui.error[0].value
    assert "cluster" not in ui.session_state  # numbers that were refused do not join the requirements


def test_the_form_asks_for_exactly_the_api_requirements() -> None:
    assert set(app.FORM_FIELDS) == set(Requirements.model_fields)


def test_the_ratings_view_is_a_heatmap_with_rationale_and_source_on_hover(ui: AppTest, live_api: LiveServer) -> None:
    ui.segmented_control[0].set_value(app.RATINGS).run()

    assert not ui.exception
    ratings = httpx.get(f"{live_api.url}/v1/ratings").json()
    chart = ui.get("vega_lite_chart")[0]
    spec = json.loads(chart.proto.spec)
    cells = pyarrow.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()  # Streamlit ships data as Arrow
    assert len(cells) == len(ratings["modes"]) * len(ratings["dimensions"])
    sidecar_security = next(c for c in cells if c["mode"] == "Sidecar" and c["dimension"] == "Security")
    expected = ratings["ratings"]["sidecar"]["security"]
    assert sidecar_security["score"] == expected["score"]
    assert sidecar_security["rationale"] == expected["rationale"]
    assert sidecar_security["url"] == expected["source"]["url"]
    tooltips = {t["field"] for layer in spec["layer"] for t in layer["encoding"]["tooltip"]}
    assert {"rationale", "source", "url", "score"} <= tooltips
    details = "\n".join(texts(ui.main))
    assert expected["rationale"] in details
    assert f"]({expected['source']['url']})" in details


# --- when the API is not there or says no --------------------------------------------------------------------


def test_api_down_says_what_to_start_and_never_raises(closed_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(closed_url, monkeypatch)
    banner = at.error[0].value
    assert f"Cannot reach the Mesh Assistant API at {closed_url}." in banner
    assert "`make run`" in banner
    assert "`assistant serve`" in banner

    ask(at, BANK)
    bubble = at.chat_message[-1]
    assert bubble.name == "assistant"
    assert bubble.error[0].value.startswith(f"**Cannot reach the Mesh Assistant API at {closed_url}.**")
    assert conversation(at)[-1]["error"]["hint"].startswith("Start it with")

    button(at, "Recommend").click().run()
    assert not at.exception
    assert "Cannot reach" in at.main.error[-1].value

    at.segmented_control[0].set_value(app.RATINGS).run()
    assert not at.exception
    assert "Cannot reach" in at.main.error[-1].value


@pytest.fixture
def keyed_api(live_api: LiveServer) -> Iterator[LiveServer]:
    """The same service behind an API that wants a key."""
    settings = Settings(
        _env_file=None, data_dir=live_api.settings.data_dir, api_keys=["ui-test-key"], rate_limit_per_minute=100_000
    )
    with serve(settings, live_api.service) as live:
        yield live


def test_api_errors_show_their_message_and_hint(keyed_api: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    at = ask(start(keyed_api.url, monkeypatch), BANK)
    shown = at.chat_message[-1].error[0].value
    assert "A valid API key is required" in shown
    assert "ASSISTANT_API_KEY" in shown or "Bearer" in shown
    assert not at.exception


def test_the_api_key_is_sent_when_set(keyed_api: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    at = ask(start(keyed_api.url, monkeypatch, key="ui-test-key"), BANK)
    assert not at.error
    assert last_answer(at)["text"].startswith("**Sidecar**")


def test_the_ui_never_imports_the_assistant() -> None:
    """The UI is an HTTP client of the API: not one `assistant` import (retrieval, rules, service...)."""
    for path in UI.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.split(".")[0] == "assistant"], f"{path.name} imports {names}"


def test_usage_statistics_are_off() -> None:
    config = tomllib.loads((UI / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False


# --- the answer pieces on their own (fixed answers: notes only come from the optional LLM path) ---------------


def _answer_with_notes(answer: dict[str, object]) -> None:  # builtins only: AppTest runs the body alone
    from ui.render import answer_body

    answer_body(answer)  # type: ignore[arg-type]


def test_notes_and_low_confidence_are_shown() -> None:
    answer = {
        "id": "a1",
        "question": "q",
        "text": "Ambient uses ztunnel [1].",
        "intent": "explain",
        "citations": [
            {
                "n": 1,
                "chunk_id": "ambient#1",
                "doc_id": "ambient",
                "title": "Ambient",
                "section": "ztunnel",
                "source_url": "https://istio.io/latest/docs/ambient/",
                "snippet": "The ztunnel costs ~12 MB and $0 in licences.",
                "modes": ["ambient"],
            }
        ],
        "recommendation": None,
        "confidence": {"score": 0.31, "label": "low"},
        "refused": False,
        "notes": ["The chat model was not used: it timed out."],
    }
    at = AppTest.from_function(_answer_with_notes, args=(answer,)).run()
    assert not at.exception
    assert at.warning[0].value.startswith("Low confidence (0.31): the sources only partly cover")
    assert "The chat model was not used: it timed out." in at.caption[0].value
    snippet = "\n".join(texts(at.expander[0]))
    assert r"\~12 MB and \$0" in snippet  # Markdown traps escaped, so no strikethrough or LaTeX


# --- the HTTP client -----------------------------------------------------------------------------------------


def test_parse_sse_reads_events_data_lines_and_comments() -> None:
    lines = [": keep-alive", "event: delta", 'data: {"text": "a"}', "", "data: one\r", "data: two", "", "event: end"]
    assert list(parse_sse(lines)) == [
        ServerEvent("delta", '{"text": "a"}'),
        ServerEvent("message", "one\ntwo"),
    ]
    assert list(parse_sse(["event: answer", "data: {}"])) == [ServerEvent("answer", "{}")]


def test_settings_are_read_from_the_environment_when_asked() -> None:
    assert ApiSettings.from_env({}) == ApiSettings("http://127.0.0.1:8000", None)
    assert ApiSettings.from_env({"ASSISTANT_API_URL": "http://api:9000/ ", "ASSISTANT_API_KEY": "k"}) == ApiSettings(
        "http://api:9000", "k"
    )


def mock(handler: Callable[[httpx.Request], httpx.Response], key: str | None = None) -> MeshClient:
    return MeshClient(ApiSettings("http://api", key), transport=httpx.MockTransport(handler))


def test_stream_ask_yields_deltas_then_the_answer_and_sends_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = 'event: delta\ndata: {"text": "Hi "}\n\nevent: delta\ndata: {"text": "[1]"}\n\n'
        body += 'event: answer\ndata: {"id": "x", "text": "Hi [1]"}\n\n'
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    turns = [{"role": "user", "content": "q0"}, {"role": "assistant", "content": "a0"}]
    events = list(mock(handler, key="s3cret").stream_ask("q", turns))  # type: ignore[arg-type]
    assert events[:2] == [Delta("Hi "), Delta("[1]")]
    assert isinstance(events[2], Final)
    assert events[2].answer["id"] == "x"
    assert seen[0].headers["authorization"] == "Bearer s3cret"
    assert json.loads(seen[0].content) == {"question": "q", "history": turns}


@pytest.mark.parametrize(
    ("response", "message", "hint"),
    [
        (
            httpx.Response(422, json={"error": {"code": "bad", "message": "The question is empty.", "hint": "Ask"}}),
            "The question is empty.",
            "Ask",
        ),
        (httpx.Response(502, text="<html>bad gateway</html>"), "The API at http://api answered 502", "Check that"),
        (httpx.Response(200, text='event: delta\ndata: {"text": "a"}\n\n'), "The answer stream ended", "Ask again"),
    ],
)
def test_stream_ask_errors_carry_a_message_and_hint(response: httpx.Response, message: str, hint: str) -> None:
    client = mock(lambda request: response)
    with pytest.raises(ApiError) as raised:
        list(client.stream_ask("q"))
    assert raised.value.message.startswith(message)
    assert raised.value.hint.startswith(hint)


def test_an_unreachable_api_names_the_url_and_what_to_start(closed_url: str) -> None:
    client = MeshClient(ApiSettings(closed_url))
    for call in (client.ready, client.ratings, lambda: list(client.stream_ask("q"))):
        with pytest.raises(ApiUnreachableError) as raised:
            call()
        assert raised.value.message == f"Cannot reach the Mesh Assistant API at {closed_url}."
        assert "assistant serve" in raised.value.hint


def test_history_leaves_out_failed_exchanges() -> None:
    answer: Any = {"text": "A1", "citations": [], "recommendation": None, "confidence": {"score": 1, "label": "high"}}
    messages: list[Message] = [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1", "answer": answer},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "", "error": {"message": "down", "hint": ""}},
    ]
    assert history(messages) == [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]
    markdown = conversation_markdown(messages, now=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert markdown.startswith("# Mesh Assistant conversation\n\n_Exported 2026-01-02 03:04 UTC._")
    assert "_Error: down_" in markdown
