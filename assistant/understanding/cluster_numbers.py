"""A cluster's numbers in a user's words: "40 nodes", "1.2k meshed pods", "10,000 rps", "30% gRPC", "3 AZs".

Each number is read with the unit written after it (one descriptive word may stand between: "40 worker nodes");
a count of namespaces or services counts as L7 scopes only when L7 features or waypoints are named with it. The
sizing estimate (`assistant.estimate`) turns the numbers into each mode's data-plane cost.
"""

from __future__ import annotations

import re


def _number(tag: str = "") -> str:
    """A count as written: "1,200", "1.2k", "2 million" (in words, "forty", it is left out)."""
    return rf"(?P<number{tag}>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)\s*(?P<scale{tag}>k|m|thousand|million)?\b"


_NUMBER = _number()
_WORD = r"(?:[a-z][\w-]*[\s-]+)?"  # one descriptive word: "worker", "meshed", "application"
_L7 = r"(?:l7|layer[ -]7|http|waypoints?|header|retries|routing)"
_UNITS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("nodes", re.compile(rf"{_NUMBER}[\s-]+{_WORD}(?:nodes?|vms?|machines|hosts)\b")),
    ("pods", re.compile(rf"{_NUMBER}[\s-]+{_WORD}(?:pods?|replicas|workload instances|containers)\b")),
    (
        "l7_scopes",
        re.compile(
            rf"{_NUMBER}[\s-]+{_WORD}(?:namespaces?|services?)\b[^.;?!]{{0,30}}\b{_L7}"
            rf"|{_L7}[^.;?!]{{0,30}}\b(?:in|for|on) {_number('2')}[\s-]+{_WORD}(?:namespaces?|services?)\b"
            rf"|{_number('3')}[\s-]+(?:waypoints?|l7 scopes?)\b"
        ),
    ),
    (
        "requests_per_second",
        re.compile(rf"{_NUMBER}[\s-]*(?:rps|qps|req/s|requests?(?: per | a | ?/ ?)(?:second|sec|s)\b)"),
    ),
    ("zones", re.compile(rf"{_NUMBER}[\s-]+{_WORD}(?:zones|azs|availability zones)\b")),
)
_GRPC_SHARE = re.compile(
    r"(?P<percent>\d{1,3}(?:\.\d+)?)\s*(?:%|percent)[^.;?!]{0,30}?\bgrpc\b"
    r"|\bgrpc\b[^.;?!]{0,20}?\b(?P<after>\d{1,3}(?:\.\d+)?)\s*(?:%|percent)"
)
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}


def cluster_numbers(lowered: str) -> dict[str, float]:
    """The cluster numbers `lowered` (a user's turn, lower-cased) states, by `ClusterSize` field name; the first
    mention of each wins."""
    found: dict[str, float] = {}
    for field, pattern in _UNITS:
        match = pattern.search(lowered)
        if match is not None:
            number = next(value for name, value in match.groupdict().items() if name.startswith("number") and value)
            scale = next((value for name, value in match.groupdict().items() if name.startswith("scale") and value), "")
            found[field] = float(number.replace(",", "")) * _SCALES.get(scale, 1.0)
    share = _GRPC_SHARE.search(lowered)
    if share is not None:
        found["grpc_share"] = min(float(share["percent"] or share["after"]) / 100, 1.0)
    return found
