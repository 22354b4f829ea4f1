"""The Slack face: a Slack Bolt app that turns Slack payloads into service calls and answers into Block Kit,
reached over HTTP at `POST /slack/events` (slack_events.py) or over Socket Mode (slack_socket.py, `assistant slack`).

- `/mesh QUESTION` is acknowledged at once; the answer follows through the command's `response_url`.
- `app_mention` and direct messages are answered in their thread, with the thread's earlier messages as history.
- The assistant view (slack_assistant.py): suggested prompts, a title and a "thinking" status, then the answer.
- The thumbs buttons under an answer record feedback on it; the "Decision record" button under a recommendation
  posts its decision record (MADR, Markdown) into the thread as a file.
- A Web API call Slack refuses with 429 is retried after its `Retry-After`.

Over HTTP every request is checked before anything parses it (slack_events.py); Bolt verifies it again. Each
delivery is answered once (slack_ledger.py), and feedback counts only for answers this server posted. The Bolt
app is built on the first request, never at start-up (over HTTP this module is imported only then), and
`authorize=` hands it the bot token so it never calls `auth.test`.
Over Socket Mode nothing is signed: Slack's WebSocket, opened with the app-level token, is the authentication.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler, default_retry_handlers

from assistant.api import sse
from assistant.api.observability import Metrics
from assistant.api.slack_assistant import make_assistant
from assistant.api.slack_blocks import DECISION_RECORD, Message, render_answer, split_text
from assistant.api.slack_ledger import SlackLedger
from assistant.api.slack_threads import bot_user_id, plain, thread_history
from assistant.config import Settings
from assistant.domain.conversation import Turn
from assistant.errors import AssistantError
from assistant.feedback import Rating
from assistant.service import Service

log = logging.getLogger("assistant.slack")

RATE_LIMIT_RETRIES = 3  # a Web API call refused with 429 is tried again this many times, after its Retry-After
USAGE = "Ask me about service-mesh data planes, e.g. `/mesh We are a bank with strict audits: sidecar or ambient?`"
THANKS = "Thanks for the feedback!"
UNKNOWN_ANSWER = ":warning: That is not an answer I posted, so your feedback was not recorded."
NO_RECORD = ":warning: I have no decision record for that answer any more: ask for the recommendation again."
RECORD_COMMENT = "The decision record of this recommendation (MADR): every [n] links to its source."
SNIPPET_LIMIT = 2990  # a section's 3,000 characters less the code fence


def make_web_client(settings: Settings) -> WebClient:
    """Slack's Web API client (at ASSISTANT_SLACK_API_URL when set); a call refused with 429 is retried after the
    Retry-After Slack sends, up to 3 times."""
    retries = [*default_retry_handlers(), RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]
    return WebClient(base_url=settings.slack_api_url or WebClient.BASE_URL, retry_handlers=retries)


def make_bolt_app(
    settings: Settings, service: Service, metrics: Metrics, *, bot_token: str, signing_secret: str = ""
) -> App:
    """The Bolt app with its listeners; the token comes from `authorize` (no `auth.test` call). Without a signing
    secret it serves Socket Mode only, whose requests are not signed."""

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=bot_token)

    client = make_web_client(settings)
    ledger = SlackLedger(settings)
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
        question = plain(command.get("text", ""))
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
        bot_user = bot_user_id(body)
        question = plain(event.get("text", ""), bot_user)
        history = thread_history(client, event, bot_user)[-settings.max_history_turns :]
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

    def on_decision_record(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        answer_id = str(action.get("value", ""))
        try:
            record = service.answer_decision_record(answer_id) if ledger.was_posted(answer_id) else None
        except AssistantError as exc:
            log.warning("slack: no decision record: %s", exc.message)
            record = None
        if record is None:
            respond(text=NO_RECORD, response_type="ephemeral", replace_original=False)
            return
        message = body.get("message")
        if message is None:  # a private answer (a slash command's): the record comes privately too, as code
            blocks = [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"```{part}```"}}
                for part in split_text(record, SNIPPET_LIMIT)
            ]
            respond(text=RECORD_COMMENT, blocks=blocks, response_type="ephemeral", replace_original=False)
            return
        client.files_upload_v2(
            channel=body["channel"]["id"], thread_ts=message.get("thread_ts") or message["ts"], content=record,
            filename="decision-record.md", title=record_title(record), initial_comment=RECORD_COMMENT,
        )  # fmt: skip

    bolt.use(_answer_once(ledger))
    bolt.use(make_assistant(reply, max_turns=settings.max_history_turns, logger=bolt.logger))
    bolt.command("/mesh")(on_command)
    bolt.event("app_mention")(on_mention)
    bolt.event("message")(on_message)  # every message event, so none is left unhandled (Slack would retry it)
    bolt.action(re.compile(r"^feedback_(up|down)$"))(on_feedback)
    bolt.action(DECISION_RECORD)(on_decision_record)
    return bolt


def record_title(record: str) -> str:
    """The decision record's title: its first heading."""
    return next((line[2:] for line in record.splitlines() if line.startswith("# ")), "Decision record")


# Redeliveries ------------------------------------------------------------------------------------------------
def _answer_once(ledger: SlackLedger) -> Callable[..., BoltResponse]:
    """Global middleware (after verification): a delivery already answered is acknowledged and nothing runs. An
    event is known by its event id, whatever a retry number says (a retry of one never handled must run); a
    slash command or click, which has none, over HTTP by its signature (a replay within the 5 minutes is the same
    bytes), over Socket Mode by its trigger id."""

    def answer_once(req: BoltRequest, next_: Callable[[], BoltResponse]) -> BoltResponse:
        event_id, signature = req.body.get("event_id"), req.headers.get("x-slack-signature", [""])[0]
        trigger_id = req.body.get("trigger_id")
        key = f"event:{event_id}" if event_id else f"signed:{signature}" if signature else f"trigger:{trigger_id}"
        if (event_id or signature or trigger_id) and not ledger.first_delivery(key):
            return BoltResponse(status=200, body="")
        return next_()

    return answer_once
