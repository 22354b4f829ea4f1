"""POST /slack/events end to end: a real API server, Slack's requests signed here, and a local HTTP server in
Slack's place (tests/slack_fake.py) that records the bot's Web API calls and the response_url POSTs."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import yaml

from assistant.api.slack import USAGE
from assistant.api.slack_blocks import render_answer, split_text, to_mrkdwn
from assistant.config import PROJECT_ROOT, Settings
from assistant.embeddings import Embedder
from assistant.service import Service
from tests.live import LiveServer, serve
from tests.slack_fake import FakeSlack

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
BOT = "UBOT"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

BANK = "We are a bank with strict compliance needs. Which mode should we use?"
THREAD = ("C1", "1700000000.000100")  # a channel thread: the bank question, the bot's answer, then the follow-up
FOLLOW_UP_TS = "1700000300.000300"


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.reset()
    return fake_slack


def slack_settings(data_dir: Path, fake: FakeSlack, **overrides: Any) -> Settings:
    return Settings(
        _env_file=None, data_dir=data_dir, slack_signing_secret=SECRET, slack_bot_token=TOKEN,
        slack_api_url=f"{fake.url}/api/", rate_limit_per_minute=100_000, **overrides,
    )  # fmt: skip


@pytest.fixture(scope="module")
def slack_api(built_index: Path, service: Service, fake_slack: FakeSlack) -> Iterator[LiveServer]:
    with serve(slack_settings(built_index, fake_slack), service) as live:
        yield live


# Signed requests, as Slack sends them -------------------------------------------------------------------------
def signature_headers(body: str, *, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def post(live: LiveServer, body: str, content_type: str, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = signature_headers(body) if headers is None else headers
    return httpx.post(f"{live.url}/slack/events", content=body, headers={"Content-Type": content_type, **headers})


def command(text: str, response_url: str) -> str:
    return urlencode({
        "token": "legacy", "team_id": "T1", "team_domain": "example", "channel_id": "C1", "channel_name": "platform",
        "user_id": "U1", "user_name": "ana", "command": "/mesh", "text": text, "api_app_id": "A1",
        "response_url": response_url, "trigger_id": "1.2.3",
    })  # fmt: skip


def event(payload: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps({
        "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event": payload,
        "event_id": event_id or f"Ev{uuid.uuid4().hex}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": "T1", "user_id": BOT, "is_bot": True}],
    })  # fmt: skip


def dm(text: str, ts: str, **extra: str) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "text": text, "ts": ts, **extra}


def button_click(action_id: str, answer_id: str, response_url: str) -> str:
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "api_app_id": "A1",
        "channel": {"id": "C1"}, "response_url": response_url, "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "feedback", "value": answer_id}],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)})


def sections(message: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in message["blocks"] if block["type"] == "section"]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [element for block in message["blocks"] if block["type"] == "actions" for element in block["elements"]]


# Slash command ------------------------------------------------------------------------------------------------
def test_slash_command_is_acknowledged_at_once_then_answered_privately(
    slack_api: LiveServer, slack: FakeSlack, service: Service
) -> None:
    response_url = slack.response_url()
    started = time.monotonic()
    ack = post(slack_api, command(BANK, response_url), FORM)
    latency = time.monotonic() - started

    assert ack.status_code == 200
    assert ack.text == ""  # the answer is not in the acknowledgement: it follows through response_url
    assert latency < 3.0  # Slack gives up on an acknowledgement after 3 s
    [answered] = slack.wait_for(urlsplit(response_url).path)
    message, expected = answered.body, service.ask(BANK)
    assert message["response_type"] == "ephemeral"
    assert message["text"] == to_mrkdwn(expected.text)
    assert "\n".join(sections(message)).startswith("*Sidecar* is the best fit")

    [sources] = [text for text in sections(message) if text.startswith("*Sources*")]
    links = re.findall(r"<(https://[^|>]+)\|\[(\d+)\] ([^>]+)>", sources)
    assert [(url, int(n)) for url, n, _ in links] == [(c.source_url, c.n) for c in expected.citations]
    up, down, record = buttons(message)  # a recommendation: its decision record can be posted too
    assert (up["action_id"], down["action_id"], record["action_id"]) == (
        "feedback_up",
        "feedback_down",
        "decision_record",
    )
    assert up["value"] == down["value"] == record["value"]
    assert re.fullmatch(r"[0-9a-f]{32}", up["value"])


def test_slash_command_answers_in_channel_when_configured(
    built_index: Path, service: Service, slack: FakeSlack
) -> None:
    with serve(slack_settings(built_index, slack, slack_in_channel=True), service) as live:
        response_url = slack.response_url()
        ack = post(live, command("How much memory does ztunnel use?", response_url), FORM)
        assert ack.status_code == 200
        assert ack.json() == {"text": "", "response_type": "in_channel"}  # Slack shows the question in the channel
        [answered] = slack.wait_for(urlsplit(response_url).path)
    assert answered.body["response_type"] == "in_channel"
    assert answered.body["blocks"]


def test_empty_slash_command_gets_the_usage_hint(slack_api: LiveServer, slack: FakeSlack) -> None:
    ack = post(slack_api, command("  ", slack.response_url()), FORM)
    assert ack.status_code == 200
    assert ack.text == USAGE


# Mentions and direct messages ---------------------------------------------------------------------------------
def test_mention_is_answered_in_its_thread_with_the_thread_as_history(
    slack_api: LiveServer, slack: FakeSlack, service: Service
) -> None:
    channel, thread_ts = THREAD
    first = to_mrkdwn(service.ask(BANK).text)
    slack.threads[THREAD] = [
        {"type": "message", "user": "U1", "text": f"<@{BOT}> {BANK}", "ts": thread_ts},
        {"type": "message", "user": BOT, "bot_id": "B1", "text": first, "ts": "1700000200.000200"},
        {"type": "message", "user": "U1", "text": f"<@{BOT}> why not ambient?", "ts": FOLLOW_UP_TS},
    ]
    mention = {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@{BOT}> why not ambient?",
        "channel": channel,
        "ts": FOLLOW_UP_TS,
        "thread_ts": thread_ts,
    }

    assert post(slack_api, event(mention), JSON).status_code == 200
    [posted] = slack.wait_for("/api/chat.postMessage", channel=channel)

    [replies] = slack.matching("/api/conversations.replies")
    assert (replies.body["channel"], replies.body["ts"]) == THREAD
    assert posted.authorization == f"Bearer {TOKEN}"
    assert posted.body["thread_ts"] == thread_ts
    history = [{"role": "user", "content": BANK}, {"role": "assistant", "content": first}]
    assert posted.body["text"] == to_mrkdwn(service.ask("why not ambient?", history).text)
    assert posted.body["text"].startswith("*Ambient* ranks 2 of 4")  # about ambient, against the bank's needs
    assert posted.body["text"] != to_mrkdwn(service.ask("why not ambient?").text)


def test_direct_message_is_answered_and_bot_messages_and_edits_are_ignored(
    slack_api: LiveServer, slack: FakeSlack, service: Service
) -> None:
    question = "How much memory does ztunnel use?"
    ignored = [
        dm("from another bot", "1700000400.000100", bot_id="B2"),
        dm("an edit", "1700000400.000200", subtype="message_changed"),
    ]
    for payload in [*ignored, dm(question, "1700000400.000300")]:
        assert post(slack_api, event(payload), JSON).status_code == 200

    [posted] = slack.wait_for("/api/chat.postMessage", channel="D1")
    assert posted.body["thread_ts"] == "1700000400.000300"
    assert posted.body["text"] == to_mrkdwn(service.ask(question).text)
    assert not slack.matching("/api/conversations.replies")  # a new conversation has no history to read


# Verification and redelivery ----------------------------------------------------------------------------------
def test_slack_url_verification_gets_its_challenge_back(slack_api: LiveServer) -> None:
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
    response = post(slack_api, body, JSON)
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


def _unsigned(body: str) -> dict[str, str]:
    return {}


def _wrong_secret(body: str) -> dict[str, str]:
    return signature_headers(body, secret="not-the-secret")


def _tampered(body: str) -> dict[str, str]:
    return signature_headers(body.replace("ztunnel", "sidecar"))


def _stale(body: str) -> dict[str, str]:
    return signature_headers(body, ts=int(time.time()) - 6 * 60)


@pytest.mark.parametrize("sign", [_unsigned, _wrong_secret, _tampered, _stale])
def test_requests_not_signed_by_slack_are_rejected(
    slack_api: LiveServer, slack: FakeSlack, service: Service, sign: Callable[[str], dict[str, str]]
) -> None:
    calls = service.embedder.calls
    bodies = [(command("ztunnel memory?", slack.response_url()), FORM), (event(dm("ztunnel memory?", "1.1")), JSON)]
    for body, content_type in bodies:
        assert post(slack_api, body, content_type, sign(body)).status_code == 401
    assert service.embedder.calls == calls
    assert slack.calls == []


def test_retried_event_is_answered_once(slack_api: LiveServer, slack: FakeSlack) -> None:
    body = event(dm("Which mode uses the least memory?", "1700000500.000100"), event_id="EvRETRY")
    assert post(slack_api, body, JSON).status_code == 200
    slack.wait_for("/api/chat.postMessage", channel="D1")

    retry = post(slack_api, body, JSON, {**signature_headers(body), "X-Slack-Retry-Num": "1"})
    duplicate = post(slack_api, body, JSON)  # the same event_id delivered again, without the retry header
    assert (retry.status_code, retry.text, duplicate.status_code) == (200, "", 200)
    later = {**dm("Is ambient mature?", "1700000600.000100"), "channel": "D2"}
    assert post(slack_api, event(later), JSON).status_code == 200
    slack.wait_for("/api/chat.postMessage", channel="D2")  # work queued after the redeliveries is done
    assert len(slack.matching("/api/chat.postMessage", channel="D1")) == 1


def test_a_first_delivery_marked_as_a_retry_is_answered(slack_api: LiveServer, slack: FakeSlack) -> None:
    """A message sent while the server was down reaches it as Slack's retry: a new event id with
    X-Slack-Retry-Num: 1. It runs its handler, once."""
    body = event({**dm("Is ambient mature?", "1700000700.000100"), "channel": "D3"}, event_id=f"Ev{uuid.uuid4().hex}")
    retry = {**signature_headers(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post(slack_api, body, JSON, retry).status_code == 200
    slack.wait_for("/api/chat.postMessage", channel="D3")
    again = {**signature_headers(body), "X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}
    assert post(slack_api, body, JSON, again).status_code == 200
    later = {**dm("Is cilium mature?", "1700000700.000200"), "channel": "D4"}
    assert post(slack_api, event(later), JSON).status_code == 200
    slack.wait_for("/api/chat.postMessage", channel="D4")  # work queued after the retry is done
    assert len(slack.matching("/api/chat.postMessage", channel="D3")) == 1


def test_a_replayed_slash_command_is_answered_once(slack_api: LiveServer, slack: FakeSlack) -> None:
    response_url = slack.response_url()
    body = command("How much memory does ztunnel use?", response_url)
    headers = signature_headers(body)  # the same signed request, sent twice within the 5 minutes
    assert post(slack_api, body, FORM, headers).status_code == 200
    assert post(slack_api, body, FORM, headers).status_code == 200
    slack.wait_for(urlsplit(response_url).path)
    later = slack.response_url()
    assert post(slack_api, command("What is HBONE?", later), FORM).status_code == 200
    slack.wait_for(urlsplit(later).path)
    assert len(slack.matching(urlsplit(response_url).path)) == 1


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\xff\xfe not UTF-8 at all", {}),  # unsigned, and not text
        (b'{"type": "event_callback"}', {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}),
        (
            b'{"type": "event_callback"}',
            {"X-Slack-Request-Timestamp": "\u0661\u0662".encode(), "X-Slack-Signature": "v0=00"},
        ),
        (b'{"type": "event_callback"}', {"X-Slack-Request-Timestamp": "1" * 400, "X-Slack-Signature": "v0=00"}),
    ],
)
def test_unsigned_or_malformed_requests_are_401_before_parsing(
    slack_api: LiveServer, slack: FakeSlack, body: bytes, headers: dict[str, str | bytes]
) -> None:
    response = httpx.post(f"{slack_api.url}/slack/events", content=body, headers={"Content-Type": JSON, **headers})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert slack.calls == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe signed, but not UTF-8", JSON),
        (b"[1, 2, 3]", JSON),
        (b"{not json", JSON),
        (b"payload=%7Bnot+json", FORM),
        (b"payload=%5B%5D", FORM),
    ],
)
def test_signed_but_malformed_requests_are_400(
    slack_api: LiveServer, slack: FakeSlack, body: bytes, content_type: str
) -> None:
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }
    response = httpx.post(f"{slack_api.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    assert slack.calls == []


def test_slacks_own_log_lines_are_json(
    built_index: Path, service: Service, slack: FakeSlack, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    with serve(slack_settings(built_index, slack), service) as live:  # its log handler writes to this test's stderr
        assert post(live, event({"type": "reaction_added", "user": "U1"}), JSON).status_code == 404
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, Bolt's included, is one JSON object
    bolt = [e for e in entries if e["logger"].startswith("assistant.slack.bolt")]
    assert bolt and "Unhandled request" in bolt[0]["msg"] and bolt[0]["level"] == "warning"


# Feedback -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rating", ["up", "down"])
def test_thumbs_up_and_down_record_feedback(
    private_index: Settings, embedder: Embedder, slack: FakeSlack, rating: str
) -> None:
    """On a private copy of the index, so the session index's feedback database stays as other tests expect."""
    settings = slack_settings(private_index.data_dir, slack, corpus_dir=private_index.corpus_dir)
    service = Service(settings, embedder=embedder)
    before = service.feedback_summary()  # the copy may hold votes other tests cast on the session index
    with serve(settings, service) as live:
        response_url = slack.response_url()
        post(live, command(BANK, response_url), FORM)
        [answered] = slack.wait_for(urlsplit(response_url).path)
        [button] = [b for b in buttons(answered.body) if b["action_id"] == f"feedback_{rating}"]

        thanks_url = slack.response_url()
        assert post(live, button_click(button["action_id"], button["value"], thanks_url), FORM).status_code == 200
        [thanks] = slack.wait_for(urlsplit(thanks_url).path)

    assert thanks.body["text"] == "Thanks for the feedback!"
    summary = service.feedback_summary()
    latest = summary.recent[0]
    expected = {"up": before.up, "down": before.down}
    expected[rating] += 1
    assert {"up": summary.up, "down": summary.down} == expected  # the other count is untouched
    assert (latest.answer_id, latest.rating, latest.source) == (button["value"], rating, "slack")


def test_feedback_on_an_answer_never_posted_is_not_recorded(slack_api: LiveServer, slack: FakeSlack) -> None:
    before = slack_api.service.feedback_summary().total
    thanks_url = slack.response_url()
    click = button_click("feedback_down", "0" * 32, thanks_url)  # an id this server never gave
    assert post(slack_api, click, FORM).status_code == 200
    [told] = slack.wait_for(urlsplit(thanks_url).path)
    assert told.body["text"].startswith(":warning: That is not an answer I posted")
    assert slack_api.service.feedback_summary().total == before


# Configuration and failures -----------------------------------------------------------------------------------
def test_without_secrets_slack_answers_503_and_the_api_still_works(live_api: LiveServer) -> None:
    body = command("ztunnel memory?", "http://127.0.0.1:9/respond")
    response = httpx.post(f"{live_api.url}/slack/events", content=body, headers={"Content-Type": FORM})

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "slack_not_configured"
    assert "ASSISTANT_SLACK_SIGNING_SECRET" in error["hint"]
    assert "ASSISTANT_SLACK_BOT_TOKEN" in error["hint"]
    assert httpx.get(f"{live_api.url}/healthz").status_code == 200


def test_service_errors_become_a_short_slack_message(tmp_path: Path, embedder: Embedder, slack: FakeSlack) -> None:
    settings = slack_settings(tmp_path / "no-index", slack)
    with serve(settings, Service(settings, embedder=embedder)) as live:
        response_url = slack.response_url()
        assert post(live, command(BANK, response_url), FORM).status_code == 200
        [answered] = slack.wait_for(urlsplit(response_url).path)
    text = answered.body["text"]
    assert text.startswith(":warning: Sorry, I could not answer that.")
    assert "assistant index" in text
    assert "blocks" not in answered.body


# Rendering ----------------------------------------------------------------------------------------------------
def test_markdown_becomes_slack_mrkdwn() -> None:
    markdown = "## Verdict\n**Sidecar** fits.\n- keys & audits <strict>\n\n"
    markdown += "| Mode | Security |\n|---|---|\n| **Sidecar** | 5/5 [1] |"
    assert to_mrkdwn(markdown) == (
        "*Verdict*\n*Sidecar* fits.\n• keys &amp; audits &lt;strict&gt;\n\n"
        "```\nMode     Security\nSidecar  5/5 [1]\n```"
    )


def test_long_answers_are_split_into_sections_of_at_most_3000_characters(service: Service) -> None:
    answer = service.ask(BANK)
    long = answer.model_copy(update={"text": "\n\n".join([answer.text] * 6) + "\n" + "x" * 7000})
    texts = sections(render_answer(long))
    parts = split_text(to_mrkdwn(long.text))
    assert len(parts) > 3
    assert all(len(text) <= 3000 for text in texts)
    assert texts[: len(parts)] == parts
    assert "".join(parts).replace("\n", "") == to_mrkdwn(long.text).replace("\n", "")


def test_comparison_tables_stay_readable(service: Service) -> None:
    message = render_answer(service.ask("compare sidecar and ambient on memory"))
    assert sections(message)[0].startswith("```\nDimension            Sidecar  Ambient\n")


def test_refusals_have_no_sources(service: Service) -> None:
    answer = service.ask("What is the best pizza topping?")
    message = render_answer(answer)
    assert answer.refused
    assert not answer.citations
    assert message["text"] == to_mrkdwn(answer.text)
    assert not [text for text in sections(message) if text.startswith("*Sources*")]
    assert [b["type"] for b in message["blocks"]][-2:] == ["divider", "actions"]


def test_manifest_sends_everything_to_the_endpoint() -> None:
    manifest = yaml.safe_load((PROJECT_ROOT / "slack" / "manifest.yaml").read_text())
    settings, features = manifest["settings"], manifest["features"]
    [mesh] = features["slash_commands"]
    urls = {mesh["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]}
    assert mesh["command"] == "/mesh"
    assert urls == {"https://YOUR-HOST/slack/events"}
    assert settings["interactivity"]["is_enabled"]
    assert set(settings["event_subscriptions"]["bot_events"]) == EVENTS
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == SCOPES
    assert not settings["socket_mode_enabled"]


def test_the_socket_mode_manifest_is_the_same_app_without_urls() -> None:
    http = yaml.safe_load((PROJECT_ROOT / "slack" / "manifest.yaml").read_text())
    socket = yaml.safe_load((PROJECT_ROOT / "slack" / "manifest-socket-mode.yaml").read_text())
    assert socket["settings"]["socket_mode_enabled"]
    assert "https://" not in yaml.safe_dump(socket)  # Slack reaches nothing: the process connects out
    assert set(socket["settings"]["event_subscriptions"]["bot_events"]) == EVENTS
    assert socket["oauth_config"] == http["oauth_config"]
    assert socket["features"]["assistant_view"] == http["features"]["assistant_view"]
    assert [c["command"] for c in socket["features"]["slash_commands"]] == ["/mesh"]


EVENTS = {"app_mention", "assistant_thread_started", "assistant_thread_context_changed", "message.im"}
SCOPES = {
    "app_mentions:read", "assistant:write", "chat:write", "commands", "files:write", "im:history", "channels:history",
    "groups:history", "mpim:history",
}  # fmt: skip
