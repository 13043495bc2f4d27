"""The index and corpus status of /api/health as the admin tab shows it: readiness, counts, problems and the table
of documents. Every value is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ui.text_markup import esc

COUNT_LABELS = {
    "documents": "文档数",
    "sections": "章节与条款",
    "clauses": "条款",
    "text_chunks": "原文段落",
    "profile_chunks": "条款画像段落",
    "chunks": "索引段落合计",
}


def health_html(health: Mapping[str, Any]) -> str:
    """Index status for the admin tab."""
    ready = bool(health.get("ready"))
    state = '<b class="pa-ok">就绪</b>' if ready else '<b class="pa-bad">未就绪</b>'
    counts = health.get("counts") or {}
    rows = "".join(f"<tr><td>{esc(COUNT_LABELS.get(str(k), k))}</td><td>{esc(v)}</td></tr>" for k, v in counts.items())
    problems = health.get("problems") or []
    problem_html = ("<ul>" + "".join(f"<li>{esc(p)}</li>" for p in problems) + "</ul>") if problems else ""
    extras = []
    if health.get("retriever"):
        extras.append(f"检索方式：{esc(health['retriever'])}")
    if "llm" in health:
        extras.append("LLM 改写：" + ("开启" if health.get("llm") else "未开启"))
    extra = "".join(f" · {e}" for e in extras)
    return (
        f'<div class="pa-health"><p>索引状态：{state} · 模型：{esc(health.get("model") or "—")}'
        f' · 构建时间：{esc(health.get("built_at") or "—")}{extra}</p>'
        f'<table class="pa-caps" style="width:auto"><tbody>{rows}</tbody></table>{problem_html}'
        f'{documents_html(documents if isinstance(documents := health.get("documents"), list) else [])}</div>'
    )


DOCUMENT_SOURCES = {"bundled": "内置", "added": "加入", "corpus": "语料目录"}
INDEX_STATES = {"indexed": "已入索引", "changed": "已改动，待重建", "not-indexed": "未入索引",
                "not-in-corpus": "索引中有、语料中已无", "no-index": "尚未建索引"}


def documents_html(documents: Sequence[Mapping[str, Any]]) -> str:
    """The corpus table of /api/health (``indexing.document_list``) for the admin tab: one row per document."""
    if not documents:
        return ""
    head = "".join(f"<th>{h}</th>" for h in ("文档", "状态", "条款与上限", "来源", "索引"))
    rows = []
    for doc in documents:
        number = f" · {esc(doc.get('doc_number'))}" if doc.get("doc_number") else ""
        linked = [link for link in doc.get("linked") or () if link.get("in_corpus")]
        links = f"<br><small>关联已收入：{esc('、'.join(str(link.get('title')) for link in linked))}</small>" if linked else ""
        removable = "（可删除）" if doc.get("removable") else ""
        vectors = "向量最新" if doc.get("vectors_current") else "向量待更新"
        rows.append(
            f'<tr><td data-label="文档">{esc(doc.get("title"))}<br><code>{esc(doc.get("id"))}</code>{links}</td>'
            f'<td data-label="状态">{esc(doc.get("status") or "—")}{number}</td>'
            f'<td data-label="条款">{esc(doc.get("clauses"))} 条 · {esc(doc.get("awards"))} 项上限</td>'
            f'<td data-label="来源">{esc(DOCUMENT_SOURCES.get(str(doc.get("source")), doc.get("source")))}{removable}</td>'
            f'<td data-label="索引">{esc(INDEX_STATES.get(str(doc.get("index_state")), doc.get("index_state")))}'
            f' · {esc(doc.get("indexed_chunks"))} 段 · {vectors}</td></tr>'
        )
    return (f'<table class="pa-caps pa-documents"><caption>语料中的文档</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')
