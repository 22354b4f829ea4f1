"""The Slack face: `POST /slack/events` runs a Slack Bolt app that turns Slack payloads into service calls and
answers into Block Kit.

- `/mesh QUESTION` is acknowledged at once; the answer follows through the command's `response_url`.
- `app_mention` and direct messages are answered in their thread, with the thread's earlier messages as history.
- The thumbs buttons under an answer record feedback on it.

Every request is checked before anything parses it: Slack's signature over the raw bytes within 5 minutes (401
otherwise), then that it is a Slack payload at all (400); Bolt verifies it again. Each delivery is answered once
(slack_ledger.py), and feedback counts only for answers this server posted. The Bolt app is built on the
first request, never at import time, and `authorize=` hands it the bot token so it never calls `auth.test`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import SecretStr
from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool

from assistant.api import sse
from assistant.api.errors import error_response
from assistant.api.observability import Metrics
from assistant.api.slack_ledger import SlackLedger
from assistant.config import Settings
from assistant.domain.answers import Answer
from assistant.domain.conversation import Turn
from assistant.errors import AssistantError
from assistant.feedback import Rating
from assistant.service import Service

log = logging.getLogger("assistant.slack")

SECTION_LIMIT = 3000  # Slack's limit on a section block's text
SIGNATURE_WINDOW = 5 * 60  # seconds a signed request stays valid
THREAD_LIMIT = 200  # messages read from a thread for history
USAGE = "Ask me about service-mesh data planes, e.g. `/mesh We are a bank with strict audits: sidecar or ambient?`"
THANKS = "Thanks for the feedback!"
UNKNOWN_ANSWER = ":warning: That is not an answer I posted, so your feedback was not recorded."
HINT = "Set ASSISTANT_SLACK_SIGNING_SECRET and ASSISTANT_SLACK_BOT_TOKEN, then restart the API."

Message = dict[str, Any]  # the `text` and `blocks` of a Slack message


def mount_slack(app: FastAPI) -> None:
    """Add `POST /slack/events` (events, slash commands and interactivity) to `app`."""
    bolt: App | None = None

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        nonlocal bolt
        settings: Settings = app.state.settings
        secret, token = _secret(settings.slack_signing_secret), _secret(settings.slack_bot_token)
        if not (secret and token):
            return error_response(503, "slack_not_configured", "Slack is not configured on this server.", HINT)
        body = await request.body()
        if not signed(secret, body, request.headers):  # before anything reads the body
            message = "The request is not signed by Slack (or its signature is older than 5 minutes)."
            return error_response(401, "unauthorized", message)
        if not well_formed(body, request.headers.get("content-type", "")):
            return error_response(400, "bad_request", "The request is signed but is not a Slack payload.")
        if bolt is None:
            bolt = make_bolt_app(settings, app.state.service, app.state.metrics, secret, token)
        # What Bolt's FastAPI adapter (SlackRequestHandler.handle) does, except that `dispatch`, which sleeps
        # until the listener has acknowledged, runs in a worker thread instead of blocking the event loop.
        bolt_response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)


def signed(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Slack's v0 signature over the raw bytes, within 5 minutes; anything malformed is simply not signed."""
    timestamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(int(time.time()) - int(timestamp)) > SIGNATURE_WINDOW:
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)


def well_formed(body: bytes, content_type: str) -> bool:
    """A JSON object (events), or a form (slash commands) whose `payload`, if any, is a JSON object (clicks)."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            return isinstance(json.loads(text), dict)
        form = parse_qs(text, strict_parsing=bool(text), errors="strict")
        return "payload" not in form or isinstance(json.loads(form["payload"][0]), dict)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors too
        return False


def make_bolt_app(settings: Settings, service: Service, metrics: Metrics, signing_secret: str, bot_token: str) -> App:
    """The Bolt app with its listeners; the token comes from `authorize` (no `auth.test` call)."""

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=bot_token)

    client = WebClient(base_url=settings.slack_api_url or WebClient.BASE_URL)
    ledger = SlackLedger(settings.data_dir / "slack.sqlite3")
    # Bolt's loggers are named after the app: under "assistant", they write JSON lines like every other one.
    bolt = App(
        name=f"{log.name}.bolt", logger=logging.getLogger(f"{log.name}.bolt"), signing_secret=signing_secret,
        authorize=authorize, client=client,
    )  # fmt: skip

    def reply(question: str, history: Sequence[Turn] = ()) -> Message:
        """The answer as a Slack message; the usage hint for an empty question; a short apology on errors."""
        if not question:
            return {"text": USAGE}
        try:
            answer = service.ask(question, history)
        except AssistantError as exc:
            log.warning("slack: no answer: %s", exc.message)
            return {"text": f":warning: Sorry, I could not answer that. {exc.message} {exc.hint}".rstrip()}
        except Exception:
            log.exception("slack: unexpected error while answering")
            return {"text": ":warning: Sorry, something went wrong on our side. Please try again later."}
        sse.count(metrics, answer)
        ledger.posted(answer.id)
        return render_answer(answer)

    def on_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        question = _plain(command.get("text", ""))
        if not question:
            ack(text=USAGE)
            return
        if settings.slack_in_channel:
            ack(response_type="in_channel")  # Slack then shows the command itself in the channel
            respond(**reply(question), response_type="in_channel")
        else:
            ack()
            respond(**reply(question), response_type="ephemeral")

    def on_mention(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        bot_user = _bot_user_id(body)
        question = _plain(event.get("text", ""), bot_user)
        history = _thread_history(client, event, bot_user)[-settings.max_history_turns :]
        thread_ts = event.get("thread_ts") or event["ts"]
        client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, **reply(question, history))

    def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("channel_type") == "im" and "subtype" not in event and "bot_id" not in event:
            on_mention(event, body, client)

    def on_feedback(ack: Ack, action: dict[str, Any], respond: Respond) -> None:
        ack()
        rating: Rating = "up" if action["action_id"] == "feedback_up" else "down"
        if not ledger.was_posted(str(action.get("value", ""))):
            log.warning("slack: feedback on an answer this server did not post: %r", action.get("value"))
            respond(text=UNKNOWN_ANSWER, response_type="ephemeral", replace_original=False)
            return
        try:
            service.record_feedback(action["value"], rating, source="slack")
        except AssistantError as exc:
            log.warning("slack: feedback not recorded: %s", exc.message)
            respond(
                text=":warning: Sorry, your feedback could not be recorded.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        metrics.feedback.labels(rating).inc()
        respond(text=THANKS, response_type="ephemeral", replace_original=False)

    bolt.use(_answer_once(ledger))
    bolt.command("/mesh")(on_command)
    bolt.event("app_mention")(on_mention)
    bolt.event("message")(on_message)  # every message event, so none is left unhandled (Slack would retry it)
    bolt.action(re.compile(r"^feedback_(up|down)$"))(on_feedback)
    return bolt


# Redeliveries ------------------------------------------------------------------------------------------------
def _answer_once(ledger: SlackLedger) -> Callable[..., BoltResponse]:
    """Global middleware (after verification): a delivery already answered is acknowledged and nothing runs. An
    event is known by its event id, whatever X-Slack-Retry-Num says (a retry of one never handled must run); a
    slash command or click, which has none, by its signature (a replay within the 5 minutes is the same bytes)."""

    def answer_once(req: BoltRequest, next_: Callable[[], BoltResponse]) -> BoltResponse:
        event_id = req.body.get("event_id")
        key = f"event:{event_id}" if event_id else f"signed:{req.headers.get('x-slack-signature', [''])[0]}"
        if not ledger.first_delivery(key):
            return BoltResponse(status=200, body="")
        return next_()

    return answer_once


# Threads -----------------------------------------------------------------------------------------------------
def _bot_user_id(body: Mapping[str, Any]) -> str | None:
    """The bot's user id, from the event's authorizations (there is no `auth.test` call to ask)."""
    return next((a["user_id"] for a in body.get("authorizations", []) if a.get("is_bot")), None)


def _plain(text: str, bot_user: str | None = None) -> str:
    """Slack message text as typed: without the bot's mention and with `&amp;`, `&lt;`, `&gt;` undone."""
    if bot_user:
        text = re.sub(rf"<@{re.escape(bot_user)}(\|[^>]*)?>", "", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _thread_history(client: WebClient, event: Mapping[str, Any], bot_user: str | None) -> list[Turn]:
    """The thread's messages before this one: the bot's as assistant turns, everyone else's as user turns."""
    if not event.get("thread_ts"):
        return []
    found = client.conversations_replies(channel=event["channel"], ts=event["thread_ts"], limit=THREAD_LIMIT)
    messages: list[dict[str, Any]] = found.get("messages", [])
    turns = []
    for message in messages:
        if float(message["ts"]) >= float(event["ts"]):
            continue
        mine = bot_user is not None and message.get("user") == bot_user
        text = _plain(message.get("text", ""), bot_user)
        if text:
            turns.append(Turn(role="assistant" if mine else "user", content=text))
    return turns


# Rendering ---------------------------------------------------------------------------------------------------
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$")
_BULLET = re.compile(r"^(\s*)[-*]\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def render_answer(answer: Answer) -> Message:
    """Block Kit for an answer: its text in sections, its sources as links, and feedback buttons."""
    text = to_mrkdwn(answer.text)
    blocks: list[dict[str, Any]] = [_section(part) for part in split_text(text)]
    blocks.append({"type": "divider"})
    if answer.citations:
        sources = "\n".join(_source_line(c.n, c.title, c.section, c.source_url) for c in answer.citations)
        blocks += [_section(part) for part in split_text(f"*Sources*\n{sources}")]
    blocks.append(
        {
            "type": "actions",
            "block_id": "feedback",
            "elements": [
                _button("feedback_up", ":thumbsup: Helpful", answer.id),
                _button("feedback_down", ":thumbsdown: Not helpful", answer.id),
            ],
        }
    )
    return {"text": text, "blocks": blocks}


def to_mrkdwn(markdown: str) -> str:
    """Slack mrkdwn: `**bold**` -> `*bold*`, headings bold, bullets as •, tables aligned in a code block."""
    lines: list[str] = []
    table: list[str] = []
    for line in _escape(markdown).splitlines():
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        if table:
            lines.append(_table(table))
            table = []
        line = _HEADING.sub(r"**\1**", line)
        lines.append(_BOLD.sub(r"*\1*", _BULLET.sub(r"\1• ", line)))
    if table:
        lines.append(_table(table))
    return "\n".join(lines)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` in parts of at most `limit` characters, cut between lines where possible."""
    pieces = [line[i : i + limit] for line in text.splitlines() for i in range(0, max(len(line), 1), limit)]
    parts: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 1 + len(piece) > limit:
            parts.append(current)
            current = piece
        else:
            current = f"{current}\n{piece}" if current else piece
    return [part for part in [*parts, current] if part.strip()]


def _table(lines: list[str]) -> str:
    rows = [
        [_BOLD.sub(r"\1", cell.strip()) for cell in line.strip().strip("|").split("|")]
        for line in lines
        if not _TABLE_RULE.match(line)
    ]
    columns = max((len(row) for row in rows), default=0)
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(columns)]
    body = "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows
    )
    return f"```\n{body}\n```"


def _source_line(n: int, title: str, section: str, url: str) -> str:
    label = _escape(f"[{n}] {title} - {section}" if section else f"[{n}] {title}")
    return f"<{url}|{label}>" if url.startswith(("https://", "http://")) else label


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(action_id: str, label: str, value: str) -> dict[str, Any]:
    text = {"type": "plain_text", "text": label, "emoji": True}
    return {"type": "button", "action_id": action_id, "value": value, "text": text}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
