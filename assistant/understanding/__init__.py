"""Question + history -> intent, modes, dimensions and requirements (keyword rules plus labelled examples)."""

from assistant.understanding.analysis import Plan, plan, understand
from assistant.understanding.examples import Example, ExampleIndex, Examples, load_examples

__all__ = ["Example", "ExampleIndex", "Examples", "Plan", "load_examples", "plan", "understand"]
