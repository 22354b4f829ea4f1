"""Question + history -> a Reading: the kind of answer learned from labelled phrasings, the rest from keywords."""

from assistant.understanding.analysis import Plan, plan
from assistant.understanding.examples import Example, ExampleIndex, load_examples
from assistant.understanding.kinds import KindClassifier, load_phrasings
from assistant.understanding.reading import Models, read

__all__ = [
    "Example",
    "ExampleIndex",
    "KindClassifier",
    "Models",
    "Plan",
    "load_examples",
    "load_phrasings",
    "plan",
    "read",
]
