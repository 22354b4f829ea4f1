"""Recent answers, kept by what determines them: the question, the conversation and the index generation.

The responder is deterministic, so an answer can be served again for the same inputs; bots and dashboards ask
the same questions over and over. A new index generation is part of the key, so a rebuilt index never serves
an answer from the old one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from assistant.domain.answers import Answer
from assistant.domain.conversation import Turn

Key = tuple[str, tuple[tuple[str, str], ...], str]


def cache_key(question: str, history: Sequence[Turn], generation: str) -> Key:
    return question, tuple((turn.role, turn.content) for turn in history), generation


class AnswerCache:
    """A thread-safe LRU of at most `size` answers (0 keeps none)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: OrderedDict[Key, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key, *, count_miss: bool = True) -> Answer | None:
        """The answer under `key`, or None (a miss, counted unless the caller will ask again with `get`)."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is None:
                self.misses += count_miss
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: Key, answer: Answer) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
