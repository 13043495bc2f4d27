"""How ``serve`` is configured: address, admin access and request limits (argument > env var > default).

Every ``POLICY_ASSISTANT_*`` setting the server reads is read here, as a default of :class:`ServeConfig`;
``ui.command`` fills in the command-line flags, and the rest of ``ui/`` is handed the finished config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.limits import max_turns_setting
from indexing.config import env, home_dir, int_env
from ui.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from ui.sessions import AdminGate

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


@dataclass
class ServeConfig:
    """How ``serve`` runs: address, admin access and request limits (argument > env var > default).

    ``max_body_bytes``: largest accepted /api request body (413 above it). ``max_upload_bytes``: largest
    document the admin tab accepts. ``max_question_chars`` / ``max_turns``: longest question and longest
    conversation (400 above them). ``rate_limit``: per-client limit on every request that does work (/api/ask,
    /api/search, /api/feedback and the web page's questions, searches, matches, builds and token attempts),
    e.g. ``60/minute``, or ``off`` (429 with ``Retry-After`` above it). ``client_concurrency``: how many of one
    client's questions are worked on at once (the rest wait their turn). ``forwarded_allow_ips``: proxies whose
    ``X-Forwarded-For`` names the client (comma-separated addresses or networks, ``*`` for any); empty, the
    default, trusts no header: the client is the address that connected.
    ``stream_step``: seconds between streamed chunks of an answer.
    """

    host: str = field(default_factory=lambda: env("HOST", DEFAULT_HOST) or DEFAULT_HOST)
    port: int = field(default_factory=lambda: int_env("PORT", DEFAULT_PORT))
    admin: bool = False
    admin_token: str | None = field(default_factory=lambda: env("ADMIN_TOKEN"))
    max_body_bytes: int = field(default_factory=lambda: int_env("MAX_BODY_BYTES", 64 * 1024))
    max_upload_bytes: int = field(default_factory=lambda: int_env("MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    max_question_chars: int = field(default_factory=lambda: int_env("MAX_QUESTION_CHARS", 2000))
    max_turns: int = field(default_factory=max_turns_setting)
    rate_limit: str = field(default_factory=lambda: env("RATE_LIMIT", DEFAULT_RATE_LIMIT) or DEFAULT_RATE_LIMIT)
    client_concurrency: int = field(default_factory=lambda: int_env("CLIENT_CONCURRENCY", 4))
    forwarded_allow_ips: str = field(default_factory=lambda: env("FORWARDED_ALLOW_IPS", "") or "")
    stream_step: float = 0.012
    home: Path = field(default_factory=home_dir)
    admin_gate: AdminGate = field(default_factory=AdminGate, repr=False, compare=False)
    rate: RateLimit | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser()
        if not 0 <= self.port <= 65535:
            raise ValueError(f"端口必须在 0–65535 之间，收到 {self.port}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes 至少为 1024，收到 {self.max_body_bytes}")
        if self.max_upload_bytes < 1024:
            raise ValueError(f"max_upload_bytes 至少为 1024，收到 {self.max_upload_bytes}")
        if self.max_question_chars < 1 or self.max_turns < 1:
            raise ValueError(f"问题长度与对话轮数上限必须为正整数，收到 {self.max_question_chars} / {self.max_turns}")
        if self.client_concurrency < 1:
            raise ValueError(f"client_concurrency 至少为 1，收到 {self.client_concurrency}")
        if self.admin_token is not None and not self.admin_token.strip():
            self.admin_token = None
        self.rate = RateLimit.parse(self.rate_limit)   # ValueError names the accepted forms
        self.forwarded_allow_ips = ",".join(parse_trusted_proxies(self.forwarded_allow_ips))

    @property
    def trusted_proxies(self) -> list[str]:
        """Addresses whose ``X-Forwarded-For`` is believed; empty (the default) believes none."""
        return [p for p in self.forwarded_allow_ips.split(",") if p]

    @property
    def admin_enabled(self) -> bool:
        """The 管理 tab exists with ``--admin`` or when a token is set (then the token is required)."""
        return self.admin or bool(self.admin_token)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{host}:{self.port}/"


def parse_trusted_proxies(text: str | None) -> list[str]:
    """``"10.0.0.1, 10.1.0.0/16"`` → its items; ``""`` → none; ``"*"`` → any.

    Raises:
        ValueError: an item that is neither an IP address, a network nor ``*`` (the message lists the forms).
    """
    import ipaddress

    items = []
    for item in (part.strip() for part in (text or "").split(",")):
        if not item:
            continue
        if item == "*":
            items.append(item)
            continue
        try:   # written as uvicorn's ProxyHeadersMiddleware compares them (a network by its network address)
            items.append(str(ipaddress.ip_network(item, strict=False)) if "/" in item else str(ipaddress.ip_address(item)))
        except ValueError:
            raise ValueError(
                f"forwarded_allow_ips 中的 {item!r} 无法识别：应为逗号分隔的 IP 地址或网段（如 127.0.0.1、10.0.0.0/8），"
                "或 * 表示信任任何地址；留空表示不信任任何转发头"
            ) from None
    return items
