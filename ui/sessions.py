"""Browser sessions and the admin token: a signed random id in an HttpOnly cookie, unlocked by the token.

Every browser that loads the page gets a ``pa_session`` cookie (``HttpOnly; SameSite=Strict``) holding a random
id signed with a key made when the server starts; ids the server did not mint are ignored. Entering the admin
token in the 管理 tab unlocks *that session id* for ``ttl_s`` seconds: the admin functions, Gradio's upload route
and any file reference sent to Gradio are refused to every other session. The client's address plays no part,
so a forged ``X-Forwarded-For`` cannot borrow an unlock, and a cross-site request carries no cookie at all.

Wrong tokens are counted per client address: after ``free_attempts`` failures each further failure doubles a
lockout (1 s, 2 s, 4 s … up to ``max_lockout_s``) during which the token is not even compared; a correct token
clears the count. Pure logic with an injectable clock; no web framework imports.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

COOKIE = "pa_session"
ADMIN_UNLOCK_TTL_S = 8 * 3600
FREE_ATTEMPTS = 5
MAX_LOCKOUT_S = 15 * 60
MAX_ENTRIES = 10_000


class AdminGate:
    """Which browser sessions gave the admin token, and how long a client must wait before guessing again.

    Args:
        ttl_s: how long an unlock lasts.
        clock: seconds, monotonic (tests pass a fake).
        free_attempts: wrong tokens allowed before the lockout starts.
        max_lockout_s: the longest lockout.
        max_entries: bound on remembered sessions and clients (least recent dropped).
    """

    def __init__(self, ttl_s: float = ADMIN_UNLOCK_TTL_S, clock: Callable[[], float] = time.monotonic,
                 free_attempts: int = FREE_ATTEMPTS, max_lockout_s: float = MAX_LOCKOUT_S,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.free_attempts = free_attempts
        self.max_lockout_s = max_lockout_s
        self._clock = clock
        self._max_entries = max(1, max_entries)
        self._key = secrets.token_bytes(32)
        self._unlocked: OrderedDict[str, float] = OrderedDict()           # session id → unlocked until
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client → (failures, locked until)
        self._lock = threading.Lock()

    # ---- session ids ------------------------------------------------------------------------------
    def new_session(self) -> str:
        """A fresh session id: 32 random bytes and their signature, URL-safe."""
        nonce = secrets.token_urlsafe(32)
        return f"{nonce}.{self._sign(nonce)}"

    def valid_session(self, value: str | None) -> str | None:
        """``value`` when it is a session id this server minted, else None."""
        if not value or value.count(".") != 1:
            return None
        nonce, signature = value.split(".")
        return value if nonce and hmac.compare_digest(signature, self._sign(nonce)) else None

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode("ascii", "replace"), hashlib.sha256).hexdigest()[:32]

    def session_from_headers(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The valid session id in an ASGI request's ``Cookie`` headers, or None."""
        for name, raw in headers:
            if name == b"cookie":
                session = self.session_from_cookie(raw.decode("latin-1"))
                if session:
                    return session
        return None

    def session_from_cookie(self, cookie: str | None) -> str | None:
        """The valid session id in a ``Cookie`` header's value, or None."""
        for part in (cookie or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == COOKIE and self.valid_session(value.strip()):
                return value.strip()
        return None

    def cookie_header(self, session: str, secure: bool) -> bytes:
        """The ``Set-Cookie`` value that gives a browser ``session`` (no Max-Age: it ends with the browser)."""
        flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
        return f"{COOKIE}={session}{flags}".encode("latin-1")

    # ---- unlocking --------------------------------------------------------------------------------
    def unlock(self, session: str | None) -> bool:
        """Record that ``session`` gave the token; False (nothing recorded) for a missing or forged id."""
        if not self.valid_session(session):
            return False
        with self._lock:
            self._unlocked.pop(session, None)   # type: ignore[arg-type]
            self._unlocked[session] = self._clock() + self.ttl_s   # type: ignore[index]
            self._trim(self._unlocked)
        return True

    def allows(self, session: str | None) -> bool:
        """Whether ``session`` unlocked the admin tab less than ``ttl_s`` seconds ago."""
        if not session:
            return False
        with self._lock:
            until = self._unlocked.get(session, 0.0)
            if until <= self._clock():
                self._unlocked.pop(session, None)
                return False
            return True

    # ---- wrong tokens ----------------------------------------------------------------------------
    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before its next token is compared (0 when it may try now)."""
        with self._lock:
            _, until = self._failures.get(client, (0, 0.0))
            return max(0.0, until - self._clock())

    def failed(self, client: str) -> float:
        """Count a wrong token from ``client``; returns the lockout it now has (0 while attempts are free)."""
        with self._lock:
            count, _ = self._failures.pop(client, (0, 0.0))
            count += 1
            over = count - self.free_attempts
            lockout = min(self.max_lockout_s, 2.0 ** (over - 1)) if over > 0 else 0.0
            self._failures[client] = (count, self._clock() + lockout)
            self._trim(self._failures)
            return lockout

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _trim(self, table: OrderedDict[str, Any]) -> None:
        while len(table) > self._max_entries:
            table.popitem(last=False)


def wait_message(seconds: float) -> str:
    """The Chinese message for a client that must wait ``seconds`` before trying the token again."""
    return f"令牌错误次数过多，请 {max(1, math.ceil(seconds))} 秒后再试。"
