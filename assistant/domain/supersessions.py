"""Superseded facts: corpus statements kept as records that a later corpus sentence overtakes.

Loaded from corpus/supersessions.yaml beside the ratings (`assistant.corpus.load_ratings`); plain validated data,
no I/O. Answers rank a stale sentence below the others they pick and end with the newer one when they quote it.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

from assistant.domain.features import Strict


def _checked(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return pattern


Pattern = Annotated[str, AfterValidator(_checked)]  # a regular expression, matched case-insensitively


class NewerFact(Strict):
    """The corpus sentence that overtakes a group of stale statements: its document, section and wording."""

    doc: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    section: str = Field(min_length=1, description="The heading path, e.g. 'Security > Keys'.")
    says: Pattern = Field(min_length=8, description="A pattern matching exactly one sentence of that section.")

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.says, re.IGNORECASE)


class Supersession(Strict):
    topic: str = Field(min_length=3, description="What the statements are about, in a few words.")
    claims: tuple[Pattern, ...] = Field(min_length=1, description="Patterns of the stale statements.")
    newer: NewerFact

    @functools.cached_property
    def stale(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{claim})" for claim in self.claims), re.IGNORECASE)


class Supersessions(Strict):
    as_of: date
    supersessions: tuple[Supersession, ...] = Field(min_length=1)

    @functools.cached_property
    def _any_stale(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{entry.stale.pattern})" for entry in self.supersessions), re.IGNORECASE)

    @functools.cached_property
    def _seen(self) -> dict[str, bool]:  # answers weigh the same corpus sentences again and again
        return {}

    def is_stale(self, sentence: str) -> bool:
        """Whether a newer corpus sentence overtakes `sentence`."""
        seen = self._seen.get(sentence)
        if seen is None:
            seen = self._seen[sentence] = self._any_stale.search(sentence) is not None
        return seen

    def overtaken(self, text: str) -> list[Supersession]:
        """The entries some stale statement of which `text` (an answer) quotes."""
        if self._any_stale.search(text) is None:  # most answers quote nothing stale: one scan instead of one each
            return []
        return [entry for entry in self.supersessions if entry.stale.search(text)]
