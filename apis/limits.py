"""Rate limits and daily quotas, checked and charged in one atomic step.

A call passes when its application's token bucket for the API has a token (capacity: one
second of its rate) **and** every quota counter it is charged to is below its limit; then
the token is taken and every counter incremented. Nothing is charged for a refused call.
Days start at midnight in ``TRUSTLAB_TIMEZONE``.

``LocalLimits`` (default) keeps the state in the one gateway process: the check and the
charge run without an ``await`` between them, so concurrent calls on the event loop are
counted exactly. ``RedisLimits`` (``TRUSTLAB_GATEWAY_REDIS_URL``) keeps it in Redis and does
both in one Lua script, atomic across any number of gateway workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Verdict:
    ok: bool
    retry_after: int = 0  # seconds
    reason: str = ""  # rate | quota:<counter>


def day_bounds(tz: ZoneInfo, at: float) -> tuple[str, float]:
    """The date in ``tz`` at ``at`` and the time (epoch seconds) that day ends."""
    now = datetime.fromtimestamp(at, tz)
    end = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tz)
    return now.date().isoformat(), end.timestamp()


def day_key(tz: ZoneInfo, at: float | None = None) -> tuple[str, int]:
    """Today's date in ``tz`` and the seconds until it ends."""
    at = time.time() if at is None else at
    day, end = day_bounds(tz, at)
    return day, max(1, math.ceil(end - at))


class Today:
    """``day_key`` for every call, with the time zone arithmetic done once a day."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz, self.day, self.end = tz, "", 0.0

    def __call__(self) -> tuple[str, int]:
        now = time.time()
        if now >= self.end:
            self.day, self.end = day_bounds(self.tz, now)
        return self.day, max(1, math.ceil(self.end - now))


class LocalLimits:
    def __init__(self, tz: ZoneInfo, used: dict[str, int] | None = None) -> None:
        self.tz, self.today = tz, Today(tz)
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self.day, _ = day_key(tz)
        self.used: dict[str, int] = dict(used or {})  # counter -> calls charged today

    async def acquire(self, bucket: str, rate: float, quotas: Sequence[tuple[str, int]]) -> Verdict:
        return self.acquire_now(bucket, rate, quotas)

    def acquire_now(self, bucket: str, rate: float, quotas: Sequence[tuple[str, int]]) -> Verdict:
        day, left = self.today()
        if day != self.day:
            self.day, self.used = day, {}
        now = time.monotonic()
        capacity = max(1.0, rate)
        tokens, at = self.buckets.get(bucket, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * rate)
        if tokens < 1.0:
            self.buckets[bucket] = (tokens, now)
            return Verdict(False, max(1, math.ceil((1.0 - tokens) / rate)), "rate")
        for counter, limit in quotas:
            if self.used.get(counter, 0) >= limit:
                self.buckets[bucket] = (tokens, now)
                return Verdict(False, left, f"quota:{counter}")
        self.buckets[bucket] = (tokens - 1.0, now)
        for counter, _ in quotas:
            self.used[counter] = self.used.get(counter, 0) + 1
        return Verdict(True)

    async def close(self) -> None:
        return None


# KEYS[1] bucket hash; KEYS[2..] quota counters. ARGV: now (s), rate, capacity, ttl, limits…
_LUA = """
local now, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local cap, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]) or cap, tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
  redis.call('EXPIRE', KEYS[1], 3600)
  return {0, math.ceil((1 - tokens) / rate), 'rate'}
end
for i = 2, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[3 + i]) then
    redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
    return {0, ttl, 'quota:' .. KEYS[i]}
  end
end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'at', now)
redis.call('EXPIRE', KEYS[1], 3600)
for i = 2, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ttl + 86400)
end
return {1, 0, ''}
"""


class RedisLimits:
    def __init__(self, url: str, tz: ZoneInfo, prefix: str = "trustlab:gw:") -> None:
        import redis.asyncio as aioredis

        self.tz, self.today = tz, Today(tz)
        self.prefix = prefix
        self.redis = aioredis.Redis.from_url(url)
        self.script = self.redis.register_script(_LUA)

    async def acquire(self, bucket: str, rate: float, quotas: Sequence[tuple[str, int]]) -> Verdict:
        day, left = self.today()
        keys = [f"{self.prefix}b:{bucket}"] + [f"{self.prefix}{day}:{c}" for c, _ in quotas]
        args = [time.time(), rate, max(1.0, rate), left] + [limit for _, limit in quotas]
        ok, retry, reason = await self.script(keys=keys, args=args)
        reason = reason.decode() if isinstance(reason, bytes) else str(reason)
        if reason.startswith("quota:"):
            reason = "quota:" + reason.removeprefix(f"quota:{self.prefix}{day}:")
        return Verdict(bool(ok), int(retry), reason)

    async def used(self, counter: str) -> int:
        day, _ = day_key(self.tz)
        value = await self.redis.get(f"{self.prefix}{day}:{counter}")
        return int(value or 0)

    async def close(self) -> None:
        await self.redis.aclose()
