"""Synthetic policy documents recombined from the clause shapes of the real ones, for the 1,000-document benchmark.

The shapes come from every real text the project has: the bundled measure (``corpus/documents/*.txt``: 一、 chapters,
（一） clauses numbered through the document) and the three test documents (``evals/documents/*/*.txt``: a 资助办法
with 第X章/第X条, a district measure in 一、/（一） style with amounts in 元 and percentages, a 申报通知 whose （一）
items restart in each part). Each synthetic document takes one of the three numbering styles, a place and an
industry, real chapter titles and clause titles, real body sentences and real award sentences whose figures are
varied (万元 and 元 amounts, percentages with a ceiling, per-year and one-off awards are kept as written). A
``.toml`` sidecar gives it a title, a short title, aliases and a 文号, so questions can name it.

Everything is drawn from ``random.Random(f"{seed}-{index}")``: the same seed and index give the same bytes.

Run: ``python benchmarks/clause_shapes.py OUT_DIR --documents 100 [--seed 0]`` writes ``OUT_DIR/documents/``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Style = Literal["measures", "articles", "notice"]
STYLES: tuple[Style, ...] = ("measures", "articles", "notice")

# (place, short form, 文号 prefix). No place is 深圳市 itself: a synthetic "深圳市关于…若干措施" would share the bundled
# measure's names, and a question naming the bundled measure would then name two documents.
PLACES = (
    ("深圳市福田区", "福田", "深福"), ("深圳市罗湖区", "罗湖", "深罗"), ("深圳市宝安区", "宝安", "深宝"),
    ("深圳市龙岗区", "龙岗", "深龙岗"), ("深圳市龙华区", "龙华", "深龙华"), ("深圳市坪山区", "坪山", "深坪"),
    ("深圳市光明区", "光明", "深光"), ("深圳市盐田区", "盐田", "深盐"), ("广州市", "广州", "穗"),
    ("广州市天河区", "天河", "穗天"), ("东莞市", "东莞", "东"), ("佛山市", "佛山", "佛"), ("珠海市", "珠海", "珠"),
    ("惠州市", "惠州", "惠"), ("中山市", "中山", "中"), ("杭州市", "杭州", "杭"), ("成都市", "成都", "成"),
    ("南京市", "南京", "宁"), ("苏州市", "苏州", "苏"), ("武汉市", "武汉", "武"), ("厦门市", "厦门", "厦"),
    ("长沙市", "长沙", "长"), ("合肥市", "合肥", "合"), ("青岛市", "青岛", "青"),
)
INDUSTRIES = ("数字创意", "网络视听", "动漫游戏", "创意设计", "数字文化装备", "数字艺术", "电子竞技", "数字出版",
              "超高清视频", "云演艺", "智慧旅游", "元宇宙", "虚拟现实", "数字音乐", "影视制作", "人工智能",
              "软件和信息技术服务", "集成电路设计", "工业互联网", "文化旅游")
DEPARTMENTS = ("文化广电旅游体育局", "工业和信息化局", "科技创新局", "商务局", "发展和改革委员会")
STATUSES = ("现行有效", "现行有效", "现行有效", "试行", "征求意见稿")
# Words of the real texts that name their own place, industry or kind of document: swapped for the synthetic one's.
# One pass of one pattern, so a place put in is never swapped again ("深圳市光明区" holds "深圳市").
_SWAP_RE = re.compile("深圳市南山区|南山区|深圳市|南山|深圳|数字经济和数字创意|数字创意|数字经济|本措施|本办法|本通知")
_SELF_OF = {"measures": "本措施", "articles": "本办法", "notice": "本通知"}
# A sentence that starts like a label would open a clause of its own in the generated text.
_LABEL_START = re.compile(r"^\s*(?:[（(][一二三四五六七八九十百]+[）)]|[一二三四五六七八九十百]+、|第[一二三四五六七八九十百\d]+[条章]|\d+\s*[.．、])")
_AWARD_RE = re.compile(r"(给予|予以|资助|奖励|补贴|补助)[^。；]*?(\d[\d.]*\s*(万元|元|%))|(\d[\d.]*\s*(万元|元|%))[^。；]*?(资助|奖励|补贴|补助)")
_FIGURE_RE = re.compile(r"(\d+(?:\.\d+)?)(\s*)(万元|元|%)")
_PERCENTS = (10, 15, 20, 25, 30, 40, 50)
_SCALES = (0.5, 1, 1, 1.5, 2, 3)
_CLOSING = ("{self}由{place}{department}负责解释。", "{self}自{year}年{month}月{day}日起施行，有效期{years}年。")


@dataclass(frozen=True)
class ClauseShapes:
    """What the generator recombines, read from the real documents."""

    chapter_titles: tuple[str, ...]   # 支持技术创新, 资助项目和标准 …
    clause_titles: tuple[str, ...]    # titled clauses' first sentence without its 。: 支持总部企业发展 …
    sentences: tuple[str, ...]        # body sentences that state no award
    awards: tuple[str, ...]           # body sentences that state an award with a figure
    preambles: tuple[str, ...]


@dataclass(frozen=True)
class SyntheticDocument:
    """One generated document: its id, text and sidecar fields."""

    id: str
    style: Style
    title: str
    short_title: str
    doc_number: str
    aliases: tuple[str, ...]
    issuer: str
    status: str
    year: int
    text: str
    clause_titles: tuple[str, ...]   # the titles of its clauses in order (empty strings for untitled 第X条)

    def toml(self) -> str:
        aliases = ", ".join(f'"{a}"' for a in self.aliases)
        return (f'id = "{self.id}"\nfile = "{self.id}.txt"\ntitle = "{self.title}"\nshort_title = "{self.short_title}"\n'
                f'aliases = [{aliases}]\nissuer = "{self.issuer}"\ndoc_number = "{self.doc_number}"\n'
                f'status = "{self.status}"\nyear = {self.year}\n')


def real_document_paths() -> list[Path]:
    """The real texts the shapes are read from: the bundled corpus and the test documents."""
    return sorted((ROOT / "corpus" / "documents").glob("*.txt")) + sorted((ROOT / "evals" / "documents").glob("*/*.txt"))


@lru_cache(maxsize=1)
def clause_shapes() -> ClauseShapes:
    """Chapter titles, clause titles, body sentences, award sentences and preambles of the real documents."""
    from indexing.corpus import load_document

    chapters: list[str] = []
    titles: list[str] = []
    sentences: list[str] = []
    awards: list[str] = []
    preambles: list[str] = []
    for path in real_document_paths():
        document = load_document(path).document
        chapters += [c.title for c in document.chapters if c.title and c.title != "附则" and len(c.title) <= 20]
        for section in document.sections:
            if section.kind == "preamble":
                preambles += [s.text.strip() for s in section.sentences if len(s.text.strip()) >= 20]
            if section.kind != "clause" or section.chapter_title == "附则":
                continue
            body = list(section.sentences)
            first = body[0].text.strip() if body else ""
            if section.label.startswith(("（", "(")) and first.endswith("。") and 2 <= len(first) <= 21:
                titles.append(first.rstrip("。"))
                body = body[1:]
            for sentence in body:
                text = sentence.text.strip()
                # Lead-ins to a list ("应当同时符合以下条件：") need the list they introduce.
                if len(text) < 12 or "\n" in text or _LABEL_START.match(text) or "【" in text or text.endswith(("：", ":")):
                    continue
                (awards if _AWARD_RE.search(text) else sentences).append(text)
    unique = lambda items: tuple(dict.fromkeys(items))  # noqa: E731
    return ClauseShapes(unique(chapters), unique(titles), unique(sentences), unique(awards), unique(preambles))


def _swap(text: str, place: str, industry: str, self_word: str) -> str:
    """``text`` about the synthetic document's place and industry, calling itself as its kind does (本办法 …)."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        if word.startswith("本"):
            return self_word
        if "数字" in word:
            return industry
        return place if len(word) > 2 else place.removeprefix("深圳市").removesuffix("市").removesuffix("区")

    return _SWAP_RE.sub(swap, text)


def _vary_figures(text: str, rng: random.Random) -> str:
    """The award sentence with each 万元 / 元 amount scaled and each percentage redrawn (units kept as written)."""

    def vary(match: re.Match[str]) -> str:
        value, space, unit = float(match.group(1)), match.group(2), match.group(3)
        if unit == "%":
            return f"{rng.choice(_PERCENTS)}{space}%"
        scaled = value * rng.choice(_SCALES)
        step = 10 ** max(0, len(str(int(scaled))) - 2)      # two significant figures: 150万元, 300000元
        new = max(step, round(scaled / step) * step)
        return f"{int(new)}{space}{unit}"

    return _FIGURE_RE.sub(vary, text)


def _numeral(n: int) -> str:
    from indexing.numerals import int_to_chinese

    return int_to_chinese(n)


def _body(rng: random.Random, shapes: ClauseShapes, swap: dict[str, str]) -> str:
    """A clause body: one to three real sentences, and (three times in four) a real award sentence with new figures."""
    parts = rng.sample(shapes.sentences, k=rng.randint(1, 3))
    if rng.random() < 0.75:
        parts.insert(rng.randint(0, len(parts)), _vary_figures(rng.choice(shapes.awards), rng))
    return _swap("".join(p if p.endswith(("。", "；")) else p + "。" for p in parts), **swap)


def _title(rng: random.Random, shapes: ClauseShapes, swap: dict[str, str]) -> str:
    return _swap(rng.choice(shapes.clause_titles), **swap)


def synthetic_document(index: int, seed: int = 0) -> SyntheticDocument:
    """Synthetic document ``index`` (deterministic in ``seed`` and ``index``)."""
    shapes = clause_shapes()
    rng = random.Random(f"{seed}-{index}")
    place, short_place, prefix = rng.choice(PLACES)
    industry = rng.choice(INDUSTRIES)
    style: Style = rng.choices(STYLES, weights=(5, 3, 2))[0]
    year = rng.randint(2018, 2025)
    department = rng.choice(DEPARTMENTS)
    swap = {"place": place, "industry": industry, "self_word": _SELF_OF[style]}
    titles: list[str] = []
    if style == "measures":
        title = f"{place}关于{rng.choice(('促进', '加快培育', '支持', '推动'))}{industry}产业高质量发展的若干措施"
        short = f"{short_place}{industry}若干措施（{year}）"
        number = f"{prefix}府规〔{year}〕{index}号"
        lines = [title, _swap(rng.choice(shapes.preambles), **swap)]
        clause = 0
        for chapter in range(1, rng.randint(5, 8) + 1):
            lines.append(f"{_numeral(chapter)}、{_swap(rng.choice(shapes.chapter_titles), **swap)}")
            for _ in range(rng.randint(2, 5)):
                clause += 1
                titles.append(_title(rng, shapes, swap))
                lines.append(f"（{_numeral(clause)}）{titles[-1]}。{_body(rng, shapes, swap)}")
        lines.append(f"{_numeral(chapter + 1)}、附则")
        closing = [c.format(self=_SELF_OF[style], place=place, department=department, year=year,
                            month=rng.randint(1, 12), day=rng.randint(1, 28), years=rng.randint(2, 5)) for c in _CLOSING]
        for sentence in closing:
            clause += 1
            titles.append("")
            lines.append(f"（{_numeral(clause)}）{sentence}")
    elif style == "articles":
        title = f"{place}{industry}产业发展专项资金{rng.choice(('管理', '资助', '扶持'))}办法"
        short = f"{short_place}{industry}专项资金办法（{year}）"
        number = f"{prefix}府规〔{year}〕{index}号"
        lines = [title, f"（{number}）"]
        article = 0
        chapters = ["总则", *(_swap(rng.choice(shapes.chapter_titles), **swap) for _ in range(rng.randint(3, 5))), "附则"]
        for chapter, chapter_title in enumerate(chapters, start=1):
            lines.append(f"第{_numeral(chapter)}章　{chapter_title}")
            count = 2 if chapter_title == "附则" else rng.randint(3, 7)
            for n in range(count):
                article += 1
                titles.append("")
                if chapter_title == "附则":
                    body = _CLOSING[n].format(self="本办法", place=place, department=department, year=year,
                                              month=rng.randint(1, 12), day=rng.randint(1, 28), years=rng.randint(2, 5))
                else:
                    body = _body(rng, shapes, swap)
                lines.append(f"第{_numeral(article)}条　{body}")
    else:
        title = f"{place}{department}关于组织申报{year}年度{industry}产业扶持项目的通知"
        short = f"{short_place}{year}年度{industry}项目申报通知"
        number = f"{prefix}{department[:2]}〔{year}〕{index}号"
        lines = [title, number, "", f"各有关单位：{_swap(rng.choice(shapes.preambles), **swap)}"]
        for part in range(1, rng.randint(4, 7) + 1):
            lines.append(f"{_numeral(part)}、{_swap(rng.choice(shapes.chapter_titles), **swap)}")
            for item in range(1, rng.randint(2, 6) + 1):
                titles.append(_title(rng, shapes, swap))
                lines.append(f"（{_numeral(item)}）{titles[-1]}。{_body(rng, shapes, swap)}")
        lines += ["", f"{place}{department}", f"{year}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"]
    doc_id = f"syn-{index:05d}"
    return SyntheticDocument(
        id=doc_id, style=style, title=title, short_title=short, doc_number=number,
        aliases=(number,), issuer=f"{place}{department}", status=rng.choice(STATUSES), year=year,
        text="\n".join(lines) + "\n", clause_titles=tuple(titles),
    )


def write_documents(folder: Path, count: int, seed: int = 0) -> list[SyntheticDocument]:
    """Write ``count`` synthetic documents (``syn-00001.txt`` + ``.toml`` …) into ``folder``; returns them."""
    folder.mkdir(parents=True, exist_ok=True)
    documents = [synthetic_document(index, seed) for index in range(1, count + 1)]
    for doc in documents:
        (folder / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")
        (folder / f"{doc.id}.toml").write_text(doc.toml(), encoding="utf-8")
    return documents


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_documents(args.folder / "documents", args.documents, args.seed)
    print(f"wrote {args.documents} documents to {args.folder / 'documents'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
