"""Per-client limits: token buckets (``POLICY_ASSISTANT_RATE_LIMIT="60/minute"`` or ``off``) and concurrency.

Each client (keyed by its IP address as the server sees it) has a bucket holding up to ``requests`` tokens,
refilled continuously at ``requests / period``; a request that does work takes one token, and a client with an
empty bucket is told how many seconds until the next token (the ``Retry-After`` of the 429 response). Behind a
reverse proxy every request comes from the proxy's address unless ``serve --forwarded-allow-ips`` names it.

How many of one client's requests are worked on at once is bounded too, so that one client's flood cannot hold
every worker thread: :class:`ClientQueue` (the JSON API) lets the rest wait their turn without a thread;
:class:`ClientSlots` (the web page's events, which run in Gradio's threads) refuses them at once.
Pure logic with an injectable clock, no web framework imports.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
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

    def describe_en(self) -> str:
        unit = {1.0: "second", 60.0: "minute", 3600.0: "hour"}.get(self.period_s, f"{self.period_s:g} seconds")
        return f"{self.requests} requests per {unit}"

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


def client_of(request: object) -> str:
    """The client's address of a Starlette or Gradio request: the key of its rate limit and its share of work."""
    client = getattr(request, "client", None)
    host = getattr(client, "host", None) if client is not None else None
    return str(host) if host else "unknown"


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))


class ClientBusy(Exception):
    """A client has as many requests in progress (and waiting) as it may have."""


class ClientQueue:
    """At most ``per_client`` requests of one client in progress; the next ones wait, first come, first served.

    For async handlers (the JSON API): a waiting request holds no thread, so a client with a hundred requests in
    flight occupies ``per_client`` worker threads and everybody else keeps the rest. Runs on one event loop (no
    locks); a client's entry is dropped when it has nothing in progress.

    Args:
        per_client: requests of one client worked on at once.
        max_waiting: requests of one client that may wait; beyond that :class:`ClientBusy` is raised at once.
    """

    def __init__(self, per_client: int, max_waiting: int = 256) -> None:
        self.per_client = max(1, per_client)
        self.max_waiting = max(0, max_waiting)
        self._active: dict[str, int] = {}
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    @asynccontextmanager
    async def turn(self, client: str) -> AsyncIterator[None]:
        """``async with queue.turn(client):`` — wait until it is this request's turn, then hold it."""
        waiting = self._waiting.get(client)
        if self._active.get(client, 0) < self.per_client and not waiting:
            self._active[client] = self._active.get(client, 0) + 1
        else:
            if waiting is not None and len(waiting) >= self.max_waiting:
                raise ClientBusy(client)
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(client, deque()).append(turn)
            try:
                await turn      # _release handed this request its slot
            except BaseException:
                if turn.done() and not turn.cancelled():
                    self._release(client)         # the slot arrived as the request was cancelled: pass it on
                else:
                    queue = self._waiting.get(client)
                    if queue is not None and turn in queue:
                        queue.remove(turn)
                        if not queue:
                            del self._waiting[client]
                raise
        try:
            yield
        finally:
            self._release(client)

    def _release(self, client: str) -> None:
        queue = self._waiting.get(client)
        while queue:
            turn = queue.popleft()
            if not queue:
                del self._waiting[client]
            if not turn.done():
                turn.set_result(None)             # the slot goes straight to the next waiter
                return
        left = self._active.get(client, 1) - 1
        if left > 0:
            self._active[client] = left
        else:
            self._active.pop(client, None)

    def in_progress(self, client: str) -> int:
        return self._active.get(client, 0)


class ClientSlots:
    """At most ``per_client`` requests of one client in progress; more are refused at once. Thread-safe.

    For the web page's events, which run in Gradio's worker threads: a waiting event would hold a thread, so
    a client that already has ``per_client`` questions in progress is told to wait for them instead.
    """

    def __init__(self, per_client: int) -> None:
        self.per_client = max(1, per_client)
        self._active: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        """``with slots.hold(client):`` — raises :class:`ClientBusy` when the client has no slot free."""
        with self._lock:
            if self._active.get(client, 0) >= self.per_client:
                raise ClientBusy(client)
            self._active[client] = self._active.get(client, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._active[client] - 1
                if left:
                    self._active[client] = left
                else:
                    del self._active[client]

    def in_progress(self, client: str) -> int:
        with self._lock:
            return self._active.get(client, 0)
