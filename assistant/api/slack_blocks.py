"""Slack messages from answers: Markdown as Slack's mrkdwn, Block Kit sections of at most 3,000 characters, the
sources as links, and the buttons under an answer (thumbs for feedback, and the decision record of a
recommendation)."""

from __future__ import annotations

import re
from typing import Any

from assistant.domain.answers import Answer

SECTION_LIMIT = 3000  # Slack's limit on a section block's text
DECISION_RECORD = "decision_record"  # the action id of the button that posts an answer's decision record

Message = dict[str, Any]  # the `text` and `blocks` of a Slack message

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$")
_BULLET = re.compile(r"^(\s*)[-*]\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def render_answer(answer: Answer) -> Message:
    """Block Kit for an answer: its text in sections, its sources as links, feedback buttons, and for a
    recommendation the button that posts its decision record."""
    text = to_mrkdwn(answer.text)
    blocks: list[dict[str, Any]] = [_section(part) for part in split_text(text)]
    blocks.append({"type": "divider"})
    if answer.citations:
        sources = "\n".join(_source_line(c.n, c.title, c.section, c.source_url) for c in answer.citations)
        blocks += [_section(part) for part in split_text(f"*Sources*\n{sources}")]
    buttons = [
        _button("feedback_up", ":thumbsup: Helpful", answer.id),
        _button("feedback_down", ":thumbsdown: Not helpful", answer.id),
    ]
    if answer.recommendation is not None and not answer.refused:
        buttons.append(_button(DECISION_RECORD, ":page_facing_up: Decision record", answer.id))
    blocks.append({"type": "actions", "block_id": "feedback", "elements": buttons})
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
