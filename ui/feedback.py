"""Feedback on answers (👍/👎 with an optional comment), kept in SQLite under the home directory.

What is given is stored whole or not at all: a comment over ``MAX_COMMENT`` characters raises
:class:`FeedbackError` (the API answers 400, the chat says so), it is never cut. Questions and turns are checked by
the callers with the question rules (``assistant.question_text``), so they are as long as a question may be.

The database runs in WAL mode with ``synchronous=FULL``: every committed row is on disk before
``add`` returns, so feedback survives a SIGKILL of ``serve``, and several processes can write at once
(``busy_timeout`` makes a writer wait for the lock instead of failing). Each thread gets its own
connection; sqlite3 connections must not be shared across threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Rating = Literal["up", "down"]
RATINGS: tuple[str, ...] = ("up", "down")
Source = Literal["chat", "api", "match"]
FEEDBACK_FILE = "feedback.sqlite3"
MAX_COMMENT = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    turns TEXT NOT NULL,
    answer TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'chat',
    answer_id TEXT
);
CREATE INDEX IF NOT EXISTS feedback_rating ON feedback (rating, created_at);
"""


class FeedbackError(ValueError):
    """Feedback that cannot be stored (unknown rating, wrong types); the message is Chinese."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored rating of one answer."""

    id: int
    created_at: float
    rating: Rating
    question: str
    turns: tuple[str, ...]
    answer: dict[str, Any]
    comment: str
    source: str
    answer_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created_at)),
            "rating": self.rating,
            "question": self.question,
            "turns": list(self.turns),
            "answer": self.answer,
            "comment": self.comment,
            "source": self.source,
            "answer_id": self.answer_id,
        }

    def to_eval_case(self) -> dict[str, Any]:
        """The record as an eval case (``evals/questions`` format), gold fields left for a reviewer."""
        return {
            "id": f"feedback-{self.id}",
            "turns": list(self.turns) or [self.question],
            "gold_clauses": [],
            "gold_caps": [],
            "must_refuse": False,
            "persona": "entrepreneur",
            "tags": ["feedback"],
            "note": self.comment,
        }


def default_path() -> Path:
    """``$POLICY_ASSISTANT_HOME/feedback.sqlite3``."""
    from indexing.config import home_dir

    return home_dir() / FEEDBACK_FILE


class FeedbackStore:
    """Thread-safe, multi-process-safe feedback log.

    Args:
        path: the SQLite file; defaults to ``feedback.sqlite3`` in the home directory.
        timeout: seconds a writer waits for another process's lock.
    """

    def __init__(self, path: Path | None = None, timeout: float = 10.0) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        with conn:
            conn.executescript(_SCHEMA)

    # ---- connections ----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=True)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        # WAL is a property of the file, but setting it again is cheap and covers a file made elsewhere.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.row_factory = sqlite3.Row
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def journal_mode(self) -> str:
        return str(self._connect().execute("PRAGMA journal_mode").fetchone()[0]).lower()

    def synchronous(self) -> int:
        return int(self._connect().execute("PRAGMA synchronous").fetchone()[0])

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:  # made in another thread that is gone
                    pass
            self._connections.clear()
        self._local = threading.local()

    # ---- writes ---------------------------------------------------------------------------------
    def add(self, rating: str, question: str, turns: Sequence[str] = (), answer: dict[str, Any] | None = None,
            comment: str = "", source: str = "chat") -> int:
        """Store one rating; returns its id.

        Raises:
            FeedbackError: for an unknown rating, values of the wrong type or a comment over ``MAX_COMMENT``.
        """
        if rating not in RATINGS:
            raise FeedbackError(f"评价只能是 up 或 down，收到：{rating!r}")
        if not isinstance(question, str) or not isinstance(comment, str):
            raise FeedbackError("question 和 comment 必须是字符串")
        if not all(isinstance(t, str) for t in turns):
            raise FeedbackError("turns 必须是字符串列表")
        check_comment(comment)
        answer = answer or {}
        turns_list = list(turns)
        conn = self._connect()
        with _transaction(conn):
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, rating, question, turns, answer, comment, source, answer_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    rating,
                    question,
                    json.dumps(turns_list, ensure_ascii=False),
                    json.dumps(answer, ensure_ascii=False),
                    comment,
                    source,
                    answer.get("id") if isinstance(answer.get("id"), str) else None,
                ),
            )
            return int(cursor.lastrowid or 0)

    def set_comment(self, record_id: int, comment: str) -> bool:
        """Attach (or replace) the comment of a stored rating; False when the id is unknown.

        Raises:
            FeedbackError: a comment over ``MAX_COMMENT`` characters (nothing is stored).
        """
        check_comment(comment)
        conn = self._connect()
        with _transaction(conn):
            cursor = conn.execute("UPDATE feedback SET comment = ? WHERE id = ?", (comment, record_id))
            return cursor.rowcount > 0

    def set_rating(self, record_id: int, rating: str) -> bool:
        """Change a stored rating (a user who clicks 👍 then 👎)."""
        if rating not in RATINGS:
            raise FeedbackError(f"评价只能是 up 或 down，收到：{rating!r}")
        conn = self._connect()
        with _transaction(conn):
            cursor = conn.execute("UPDATE feedback SET rating = ? WHERE id = ?", (rating, record_id))
            return cursor.rowcount > 0

    # ---- reads ----------------------------------------------------------------------------------
    def get(self, record_id: int) -> FeedbackRecord | None:
        row = self._connect().execute("SELECT * FROM feedback WHERE id = ?", (record_id,)).fetchone()
        return _record(row) if row else None

    def records(self, limit: int = 1000, down_first: bool = True) -> list[FeedbackRecord]:
        """Stored ratings, 👎 first (then newest first) unless ``down_first`` is False."""
        order = "CASE rating WHEN 'down' THEN 0 ELSE 1 END, created_at DESC, id DESC" if down_first \
            else "created_at DESC, id DESC"
        rows = self._connect().execute(f"SELECT * FROM feedback ORDER BY {order} LIMIT ?", (limit,)).fetchall()
        return [_record(row) for row in rows]

    def count(self, rating: str | None = None) -> int:
        conn = self._connect()
        if rating is None:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
        return int(conn.execute("SELECT COUNT(*) FROM feedback WHERE rating = ?", (rating,)).fetchone()[0])

    def export_eval_cases(self, records: Iterable[FeedbackRecord] | None = None) -> str:
        """JSONL of eval cases, one per record (👎 first)."""
        chosen = self.records(limit=100_000) if records is None else list(records)
        return "".join(json.dumps(r.to_eval_case(), ensure_ascii=False) + "\n" for r in chosen)


def check_comment(comment: str) -> None:
    """Raise :class:`FeedbackError` for a comment longer than ``MAX_COMMENT`` characters (the message says so)."""
    if len(comment) > MAX_COMMENT:
        raise FeedbackError(f"意见过长（{len(comment)} 字），请控制在 {MAX_COMMENT} 字以内。")


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: take the write lock up front, so concurrent writers queue cleanly."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _record(row: sqlite3.Row) -> FeedbackRecord:
    try:
        answer = json.loads(row["answer"])
    except ValueError:
        answer = {}
    try:
        turns = tuple(json.loads(row["turns"]))
    except ValueError:
        turns = ()
    return FeedbackRecord(
        id=int(row["id"]),
        created_at=float(row["created_at"]),
        rating=row["rating"],
        question=row["question"],
        turns=turns,
        answer=answer if isinstance(answer, dict) else {},
        comment=row["comment"],
        source=row["source"],
        answer_id=row["answer_id"],
    )
