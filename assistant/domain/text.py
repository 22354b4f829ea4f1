"""Text helpers shared by indexing, retrieval and understanding: sentences with spans, terms for matching."""

from __future__ import annotations

import functools
import re

# A sentence ends at . ! or ? followed by whitespace and an upper-case letter, digit, quote or bracket,
# unless the period belongs to a known abbreviation or an initial. Bullet items and blank-line paragraphs
# always end one.
_ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "etc.", "approx.", "cf.", "fig.", "no.", "v.", "mr.", "dr.", "inc.")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”)]?\s+(?=[A-Z0-9\"“'(\[*`])")
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.$")  # "R. Chandramouli": an initial, not a sentence end
_LIST_NUMBER = re.compile(r"\s*\d+\.")  # "1. Label the namespace.": a numbered item's marker, not a sentence
_BLOCK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)")
_MARKUP = re.compile(r"\*\*|__|`|^\s*(?:[-*+]|\d+\.)\s+", re.MULTILINE)
_POSSESSIVE = re.compile(r"['’]s\b")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-_.]*[a-z0-9]|[a-z0-9]")

STOPWORDS = frozenset(
    """a an and are as at be been but by can could do does did for from has have how i if in into is it its me my
    of on or our so than that the their them then there these they this those to was we were what when where which
    while who why will with would you your about should mode modes one vs versus done use used using uses work
    works get gets got make makes much many also just any some here onto very way ways thing things tell know need
    needs want wants please something anything everything""".split()  # noqa: SIM905 - one word list, easier to read than a literal
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in `text` (markdown bullets and paragraphs split too)."""
    spans: list[tuple[int, int]] = []
    block_start = 0
    for block_end in [m.start() for m in _BLOCK.finditer(text)] + [len(text)]:
        start = block_start
        for boundary in _BOUNDARY.finditer(text, block_start, block_end):
            before = text[start : boundary.start()]
            if before.lower().endswith(_ABBREVIATIONS) or _INITIAL.search(before) or _LIST_NUMBER.fullmatch(before):
                continue
            spans.append((start, boundary.start()))
            start = boundary.end()
        spans.append((start, block_end))
        block_start = block_end
    return [trimmed for span in spans if (trimmed := _trim(text, span))]


def _trim(text: str, span: tuple[int, int]) -> tuple[int, int] | None:
    start, end = span
    while start < end and text[start] in " \t\n":
        start += 1
    while end > start and (
        text[end - 1] in " \t\n"
        or (text[end - 1] in "-*+" and (end - 1 == start or text[end - 2] in " \t\n"))  # a dangling list marker
    ):
        end -= 1
    return (start, end) if any(ch.isalnum() for ch in text[start:end]) else None


@functools.lru_cache(maxsize=16_384)  # the same corpus sentences, for every answer
def plain(sentence: str) -> str:
    """A sentence without markdown markup (bullets, emphasis, code ticks), on one line."""
    return " ".join(_MARKUP.sub("", sentence).split())


def stem(word: str) -> str:
    """A light, deterministic English stemmer: upgrade, upgrades, upgraded and upgrading all match."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


# Spellings of one idea that should match each other ("generally available" and "GA").
_SAME_TERM = [
    (re.compile(r"\bgenerally available\b|\bgeneral availability\b"), "ga"),
    (re.compile(r"\bmutual tls\b"), "mtls"),
    (re.compile(r"\bcross[- ]?(?:az|availability[- ]zones?)\b|\binter[- ]?(?:az|zone)\b"), "cross-zone"),
    (re.compile(r"\bv?cpus?\b|\bmillicores?\b"), "cpu"),
    (re.compile(r"\b(\d+(?:\.\d+)?) ?(mb|mib|gb|gib)\b"), r"\1 \2 memory"),  # "60 MB" is a memory figure
]


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words (stopwords removed), in order."""
    return list(_terms(text))


@functools.lru_cache(maxsize=16_384)  # every answer re-reads the same corpus sentences: a third of its time
def _terms(text: str) -> tuple[str, ...]:
    lowered = _POSSESSIVE.sub("", text.lower())
    for pattern, replacement in _SAME_TERM:
        lowered = pattern.sub(replacement, lowered)
    return tuple(stem(w) for w in _WORD.findall(lowered) if w not in STOPWORDS)


_CAPITALISED_WORD = r"\b[A-Z][A-Za-z0-9]*[a-z0-9][A-Za-z0-9]*\b"
_CAPITALISED = re.compile(_CAPITALISED_WORD)
_NAME = re.compile(rf"(?<![.!?]\s)(?<!^){_CAPITALISED_WORD}|\b[a-z]*\d+(?:\.\d+)+[a-z]*\b")
_ALPHA_WORD = re.compile(r"\b[A-Za-z][A-Za-z0-9']*\b")


def names(text: str) -> set[str]:
    """Terms that look like names: capitalised words not opening a sentence (Consul, GitHub) and versions (4.12).
    In Title Case Text capitals say nothing, so there only versions count."""
    found = _NAME.findall(text.strip())
    words = _ALPHA_WORD.findall(text)
    if len(words) >= 4 and sum(word[0].isupper() for word in words) > 0.6 * len(words):
        found = [word for word in found if any(character.isdigit() for character in word)]
    return {stem(word.lower()) for word in found if word.lower() not in STOPWORDS}


def written_names(text: str) -> set[str]:
    """Every term `text` writes as a name or a version, sentence openings included: the names a corpus knows."""
    capitalised = {word.lower() for word in _CAPITALISED.findall(text)}
    return names(text) | {stem(word) for word in capitalised if word not in STOPWORDS}
