"""Rate limits per client through the `limits` library: a moving window of `per_minute` requests in any 60 seconds.
Counted in Redis when `ASSISTANT_REDIS_URL` is set, so that a limit holds across every replica; otherwise in this
process's memory. A Redis that cannot be reached makes requests 503 (UnavailableError), not 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from assistant.config import Settings
from assistant.errors import UnavailableError

REDIS_PREFIX = "mesh-assistant:limits"


def make_storage(settings: Settings) -> Storage:
    """One storage for all of a process's limits: Redis's connections are shared by them."""
    if not settings.shared_redis:
        return MemoryStorage()
    return RedisStorage(f"async+{settings.shared_redis}", implementation="redispy", key_prefix=REDIS_PREFIX)


class RateLimit:
    def __init__(self, name: str, per_minute: int, storage: Storage) -> None:
        self.item = RateLimitItemPerMinute(per_minute, namespace=name)
        self.limiter = MovingWindowRateLimiter(storage)
        # Redis's own errors mean it cannot be reached; the memory storage raises none of its own
        found = storage.base_exceptions if isinstance(storage, RedisStorage) else ()
        self._unreachable: tuple[type[Exception], ...] = found if isinstance(found, tuple) else (found,)

    async def take(self, client: str) -> float:
        """0 when the request may proceed (it is counted), else the seconds until it may."""
        with self._reached():
            if await self.limiter.hit(self.item, client):
                return 0.0
            return await self._wait(client)

    async def wait(self, client: str) -> float:
        """The seconds until `client` may make a request again (0: it may now); nothing is counted."""
        with self._reached():
            return 0.0 if await self.limiter.test(self.item, client) else await self._wait(client)

    async def _wait(self, client: str) -> float:
        stats = await self.limiter.get_window_stats(self.item, client)
        return max(stats.reset_time - time.time(), 0.001)

    @contextmanager
    def _reached(self) -> Iterator[None]:
        try:
            yield
        except self._unreachable as exc:
            raise UnavailableError(
                f"The rate limits cannot be counted: Redis does not answer ({exc}).",
                hint="Check the server ASSISTANT_REDIS_URL names; requests are served again once it answers.",
            ) from exc
