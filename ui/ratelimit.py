"""Per-client token buckets for the JSON API: ``POLICY_ASSISTANT_RATE_LIMIT="60/minute"`` (or ``off``).

Each client (keyed by its IP address as the server sees it) has a bucket holding up to ``requests`` tokens,
refilled continuously at ``requests / period``; a request takes one token, and a client with an empty bucket
is told how many seconds until the next token (the ``Retry-After`` of the 429 response). Behind a reverse
proxy every request comes from the proxy's address: rate-limit at the proxy instead, or turn this ``off``.
Pure logic with an injectable clock, no web framework imports.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

PERIODS: dict[str, float] = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
_ALIASES = {"s": "second", "sec": "second", "m": "minute", "min": "minute", "h": "hour", "hr": "hour"}
OFF = ("off", "none", "0", "unlimited")
DEFAULT_RATE_LIMIT = "60/minute"
MAX_CLIENTS = 10_000
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+?)s?\s*$")


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``period_s`` seconds for one client; bursts of up to ``requests`` are allowed."""

    requests: int
    period_s: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period_s <= 0:
            raise ValueError(f"限流设置必须为正数，收到 {self.requests}/{self.period_s}s")

    @property
    def per_second(self) -> float:
        return self.requests / self.period_s

    def describe(self) -> str:
        unit = {1.0: "秒", 60.0: "分钟", 3600.0: "小时"}.get(self.period_s, f"{self.period_s:g} 秒")
        return f"每{unit} {self.requests} 次"

    @classmethod
    def parse(cls, text: str | None) -> RateLimit | None:
        """``"60/minute"``, ``"5/second"``, ``"1000/hour"`` (also ``s``/``min``/``h``); ``off`` or ``0`` → ``None``.

        Raises:
            ValueError: any other text, with the accepted forms in the message.
        """
        raw = (text or "").strip().lower()
        if raw in OFF:
            return None
        match = _SPEC.match(raw)
        unit = _ALIASES.get(match.group(2), match.group(2)) if match else ""
        if not match or unit not in PERIODS:
            raise ValueError(
                f"限流设置 {text!r} 无法识别：应为“次数/单位”，单位为 second、minute 或 hour"
                f"（如 60/minute），或 off 表示不限流"
            )
        requests = int(match.group(1))
        if requests == 0:
            return None
        return cls(requests, PERIODS[unit])


class TokenBucketLimiter:
    """Token buckets keyed by client; thread-safe; remembers at most ``max_clients`` (least recent dropped).

    Args:
        limit: the per-client rate.
        clock: seconds, monotonic (tests pass a fake).
        max_clients: bound on remembered clients; a dropped client simply starts again with a full bucket.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS) -> None:
        self.limit = limit
        self._clock = clock
        self._max_clients = max(1, max_clients)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()   # key → (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until a token is available."""
        now = self._clock()
        capacity = float(self.limit.requests)
        with self._lock:
            tokens, last = self._buckets.pop(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * self.limit.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.limit.per_second
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))
