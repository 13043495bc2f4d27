"""``policy-assistant serve``: the web chat, the lookup desk and the HTTP API on one port.

Nothing heavy is imported at module level (gradio, fastapi and uvicorn load inside :func:`run`), so
``policy-assistant --help`` stays fast. On a fresh clone with no index, ``serve`` builds it first.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ui.config import ServeConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="监听地址（默认 127.0.0.1，或 POLICY_ASSISTANT_HOST）")
    parser.add_argument("--port", type=int, default=None, help="端口（默认 7860，或 POLICY_ASSISTANT_PORT）")
    parser.add_argument("--admin", action="store_true", help="显示“管理”页（索引状态、上传文档、重建、反馈）")
    parser.add_argument(
        "--admin-token", default=None,
        help="管理页令牌（或环境变量 POLICY_ASSISTANT_ADMIN_TOKEN）；设置后管理页需输入令牌才能使用",
    )
    parser.add_argument("--no-browser", action="store_true", help="启动后不自动打开浏览器")
    parser.add_argument("--max-body-bytes", type=int, default=None,
                        help="/api 请求体上限（字节，默认 65536，或 POLICY_ASSISTANT_MAX_BODY_BYTES）")
    parser.add_argument("--max-upload-bytes", type=int, default=None,
                        help="管理页上传文件上限（字节，默认 10 MB，或 POLICY_ASSISTANT_MAX_UPLOAD_BYTES）")
    parser.add_argument("--max-question-chars", type=int, default=None,
                        help="问题长度上限（字，默认 2000，或 POLICY_ASSISTANT_MAX_QUESTION_CHARS）")
    parser.add_argument("--max-turns", type=int, default=None,
                        help="一段对话的轮数上限（默认 20，或 POLICY_ASSISTANT_MAX_TURNS）")
    parser.add_argument("--rate-limit", default=None,
                        help="每个客户端（按 IP）的限流，/api/ask、/api/search、/api/feedback 与网页上的提问、检索、匹配、"
                             "建索引、令牌尝试合计，如 60/minute、5/second，off 为不限（默认 60/minute，或 POLICY_ASSISTANT_RATE_LIMIT）")
    parser.add_argument("--client-concurrency", type=int, default=None,
                        help="同一客户端同时处理的问题数，其余排队（默认 4，或 POLICY_ASSISTANT_CLIENT_CONCURRENCY）")
    parser.add_argument("--forwarded-allow-ips", default=None,
                        help="信任其 X-Forwarded-For 的反向代理地址，逗号分隔（IP 或网段，* 为任何地址）；"
                             "默认不信任任何转发头（或 POLICY_ASSISTANT_FORWARDED_ALLOW_IPS）")
    parser.add_argument("--no-build", action="store_true", help="没有索引时不自动建立（/api/health 将返回 503）")


def _serve_config(args: argparse.Namespace) -> ServeConfig:
    from assistant.cli import CliError
    from ui.config import ServeConfig

    overrides = {"host": args.host, "port": args.port, "admin_token": args.admin_token,
                 "max_body_bytes": args.max_body_bytes, "max_upload_bytes": args.max_upload_bytes,
                 "max_question_chars": args.max_question_chars, "max_turns": args.max_turns,
                 "rate_limit": args.rate_limit, "client_concurrency": args.client_concurrency,
                 "forwarded_allow_ips": args.forwarded_allow_ips}
    try:
        return ServeConfig(admin=args.admin, **{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise CliError(f"参数错误：{exc}", 2) from None


def _index_missing() -> bool:
    """True when no index has been built yet (other index problems are reported by /api/health)."""
    from indexing.config import IndexConfig
    from indexing.index_files import locate_index
    from indexing.manifest import IndexManifest, IndexNotBuilt, IndexProblem

    config = IndexConfig()
    try:
        IndexManifest.load(locate_index(config))
    except IndexNotBuilt:
        return True
    except IndexProblem:
        return False
    return False


def _build_first() -> None:
    """Run ``policy-assistant index`` (with its progress lines) before starting the server."""
    from indexing import command as index_command

    print("还没有检索索引，先建立索引（内置语料约需几秒）…", file=sys.stderr, flush=True)
    parser = argparse.ArgumentParser(prog="policy-assistant index")
    index_command.add_arguments(parser)
    code = index_command.run(parser.parse_args([]))
    if code:
        from assistant.cli import CliError

        raise CliError("建立索引失败，服务未启动。", code)


def _open_browser_later(url: str) -> None:
    """Open the page once the server is up, only where a desktop browser can exist."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return
    import threading
    import webbrowser

    threading.Timer(1.5, lambda: webbrowser.open(url)).start()


def run(args: argparse.Namespace) -> int:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("GRADIO_RUN_HISTORY", "False")
    from assistant.cli import CliError

    config = _serve_config(args)
    if not args.no_build and _index_missing():
        _build_first()

    import socket

    import uvicorn

    from ui.server import create_app

    try:
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((config.host, config.port))
    except OSError as exc:
        raise CliError(f"无法监听 {config.host}:{config.port}（{exc.strerror}）；端口可能已被占用，请用 --port 换一个。") from None

    app = create_app(config)
    url = config.url
    print(f"政策助手已启动：{url}", flush=True)
    print(f"  创业者咨询 / 政策匹配 / 热线查询{' / 管理' if config.admin_enabled else ''}：{url}", flush=True)
    print(f"  HTTP API：{url}api/ask、{url}api/search、{url}api/health（接口描述：{url}api/openapi.json）", flush=True)
    if config.host in ("0.0.0.0", "::"):
        print("  注意：正在监听所有网络接口，局域网内的其他机器也能访问。", flush=True)
    limit = config.rate.describe() if config.rate else "不限"
    print(f"  限流（每个客户端）：{limit}；问题上限 {config.max_question_chars} 字，对话上限 {config.max_turns} 轮，"
          f"请求体上限 {config.max_body_bytes} 字节。", flush=True)
    if config.admin_token:
        print("  管理页已开启，需输入令牌。", flush=True)
    elif config.admin:
        print("  管理页已开启（未设置令牌，任何能访问本页面的人都能使用）。", flush=True)
    if not args.no_browser:
        _open_browser_later(url)
    if config.trusted_proxies:
        print(f"  信任以下反向代理的 X-Forwarded-For：{', '.join(config.trusted_proxies)}", flush=True)
    # Forwarded headers are handled by create_app, and only for --forwarded-allow-ips: uvicorn's own handling
    # would believe an X-Forwarded-For sent from 127.0.0.1 (its default), letting any local client pick its identity.
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=5, proxy_headers=False, forwarded_allow_ips="")
    return 0
