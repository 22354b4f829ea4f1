"""The exceptions Mesh Assistant raises, split by who can fix them.

    AssistantError                     base: every message says what went wrong and how to fix it
    ├── UserError                      an operator mistake: bad input, file or setting (CLI exit 2, HTTP 4xx)
    │   ├── CorpusError                a corpus file is malformed (names file, line and field)
    │   ├── ConfigError                a setting is wrong (names the setting and the fix)
    │   ├── InvalidRequirementError    an unknown level, fact or value in requirements
    │   ├── TooLargeError              a question, history or request over its size limit
    │   └── FixtureError               an eval fixture file is invalid (names file and case id)
    └── UnavailableError                 the system cannot serve right now (CLI exit 1, HTTP 503)
        ├── IndexNotBuiltError         no index yet (names the command that builds it)
        ├── IndexMismatchError         the index was built with another model or corpus
        ├── IndexCorruptError          the index cannot be read (names the rebuild command)
        ├── ModelUnavailableError      the embedding model cannot be loaded offline
        └── LLMError                   the optional chat model failed (the caller falls back)

Faces translate these at their edge only: the CLI prints `error: ...` and `hint: ...` without a
traceback, the API maps them to a JSON error body.
"""

from __future__ import annotations

REBUILD_COMMAND = "assistant index --rebuild"
BUILD_COMMAND = "assistant index"


class AssistantError(Exception):
    """Base class: `message` says what happened, `hint` how to fix it."""

    code = "assistant_error"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UserError(AssistantError):
    code = "invalid_input"


class CorpusError(UserError):
    code = "corpus_error"

    def __init__(self, path: str, line: int | None, message: str, *, field: str = "", hint: str = "") -> None:
        where = f"{path}:{line}" if line is not None else path
        located = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        super().__init__(located, hint=hint or "Fix the file, then run `assistant index`.")
        self.path = path
        self.line = line
        self.field = field


class ConfigError(UserError):
    code = "config_error"


class InvalidRequirementError(UserError):
    code = "invalid_requirement"


class TooLargeError(UserError):
    code = "too_large"


class FixtureError(UserError):
    code = "invalid_fixture"


class UnavailableError(AssistantError):
    code = "unavailable"


class IndexNotBuiltError(UnavailableError):
    code = "index_not_built"

    def __init__(self, message: str = "No index has been built yet.") -> None:
        super().__init__(message, hint=f"Build it with `{BUILD_COMMAND}` (or `make index`).")


class IndexMismatchError(UnavailableError):
    code = "index_mismatch"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint=f"Re-index with `{REBUILD_COMMAND}`.")


class IndexCorruptError(UnavailableError):
    code = "index_corrupt"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint=f"Rebuild it with `{REBUILD_COMMAND}`.")


class ModelUnavailableError(UnavailableError):
    code = "model_unavailable"


class LLMError(UnavailableError):
    code = "llm_error"
