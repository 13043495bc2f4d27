"""A seeded generator of synthetic policy measures of the bundled measure's family, for scale benchmarks.

Each synthetic document reads like the real one and parses with the same parser: a title
"<城市>关于加快培育<产业>产业集群的若干措施", a preamble, chapters ``一、…`` with clauses ``（一）…`` numbered
through the document, award sentences "对符合条件的<对象>给予最高N万元资助", and a 附则 with the interpreting
department and the validity. Sentences, chapter and clause titles come from the real measure with its
industry and city words swapped, so the vocabulary (and the BM25 / jieba behaviour) stays realistic.

``write_corpus(folder, documents=N)`` writes the real measure (with its profiles) plus N−1 synthetic
documents, so the eval questions still have their answers in document 1 and a size of 1 is the bundled corpus.

Run: ``python benchmarks/synthetic_corpus.py OUT_DIR --documents 100 [--seed 0]``
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CITIES = ("深圳市", "广州市", "东莞市", "佛山市", "珠海市", "惠州市", "中山市", "江门市", "汕头市", "湛江市",
          "杭州市", "成都市", "南京市", "苏州市", "武汉市", "西安市", "厦门市", "长沙市", "合肥市", "青岛市")
INDUSTRIES = ("数字创意", "网络视听", "动漫游戏", "创意设计", "数字文化装备", "数字艺术", "电子竞技", "数字出版",
              "超高清视频", "云演艺", "智慧旅游", "元宇宙", "虚拟现实", "数字音乐", "影视制作", "数字内容")
DEPARTMENTS = ("文化广电旅游体育局", "工业和信息化局", "科技创新局", "商务局", "发展和改革委员会", "宣传部")
AWARD_SUBJECTS = ("项目", "孵化器和众创空间", "产业基地", "新型游戏研发项目", "融合发展示范项目", "公共服务平台",
                  "领军企业", "研究和人才培养基地", "交易平台", "出口项目", "产学研创新平台", "重点实验室",
                  "专精特新企业", "数字影棚", "直播基地", "原创作品", "国际赛事", "产业园区")
AWARD_QUALIFIERS = ("对符合条件的", "对经认定的", "对具有示范引领作用的", "对被评为省级", "对新引进的")
AMOUNTS = (10, 20, 30, 50, 80, 100, 150, 200, 300, 500, 800, 1000)
# Today a clause number beyond the primary measure's last clause makes ``ask`` raise UnknownSection (hits are keyed
# by clause number only, then composed from the primary measure); keeping synthetic measures within its 26 lets
# the scale runs measure speed. ``synthetic_document(..., max_clauses=40)`` reproduces the crash.
MAX_CLAUSES = 26
NUMERALS = "一二三四五六七八九十"
_AWARD_RE = re.compile(r"(给予|予以|追加)[^。；]*?(万元|资助|奖励|扶持|支持)")


@dataclass(frozen=True)
class Vocabulary:
    """What the generator draws from: the real measure's preamble, chapter titles, clause titles and sentences."""

    preamble: tuple[str, ...]
    chapter_titles: tuple[str, ...]
    clause_titles: tuple[str, ...]
    sentences: tuple[str, ...]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    from indexing.corpus import BUNDLED_CORPUS, load_corpus

    document = load_corpus(BUNDLED_CORPUS)[0].document
    preamble = next((s for s in document.sections if s.key == "preamble"), None)
    chapters = tuple(c.title for c in document.chapters if c.title and c.title != "附则")
    clauses = [s for s in document.clauses if s.chapter != "附则"]
    titles = tuple(s.title for s in clauses if s.title)
    sentences: list[str] = []
    for clause in clauses:
        for sentence in list(clause.sentences)[1:]:    # the first sentence is the clause title
            text = sentence.text.strip()
            if text and not _AWARD_RE.search(text) and len(text) >= 12:
                sentences.append(text)
    preamble_sentences = tuple(s.text.strip() for s in preamble.sentences) if preamble else ()
    return Vocabulary(preamble_sentences, chapters, titles, tuple(sentences))


def _swap(text: str, industry: str, city: str) -> str:
    return text.replace("数字创意", industry).replace("深圳市", city).replace("深圳", city.rstrip("市"))


def _numeral(n: int) -> str:
    from indexing.numerals import int_to_chinese

    return int_to_chinese(n)


def synthetic_document(index: int, seed: int = 0, max_clauses: int = MAX_CLAUSES) -> tuple[str, str, str]:
    """(id, title, text) of synthetic document ``index`` (deterministic in ``seed`` and ``index``)."""
    vocab = vocabulary()
    rng = random.Random(f"{seed}-{index}")
    city, industry = rng.choice(CITIES), rng.choice(INDUSTRIES)
    year = rng.randint(2018, 2025)
    doc_id = f"syn-{index:05d}"
    title = f"{city}关于加快培育{industry}产业集群的若干措施"
    lines = [title]
    if rng.random() < 0.3:
        lines.append("（征求意见稿）")
    lines.append(_swap("".join(rng.sample(vocab.preamble, k=min(len(vocab.preamble), rng.randint(1, 2)))) or
                       f"为加快推动{industry}产业高质量发展，制定本措施。", industry, city))
    clause_no = 0
    # 6–8 chapters of 2–3 clauses, + 2 in 附则: at most 26 clauses, like the real measure (see MAX_CLAUSES).
    for chapter_no in range(1, rng.randint(6, 8) + 1):
        lines.append(f"{_numeral(chapter_no)}、{_swap(rng.choice(vocab.chapter_titles), industry, city)}")
        for _ in range(rng.randint(2, 3)):
            if clause_no + 2 >= max_clauses:
                break
            clause_no += 1
            body = rng.sample(vocab.sentences, k=rng.randint(1, 3))
            award = ""
            if rng.random() < 0.75:
                amount = rng.choice(AMOUNTS)
                award = f"{rng.choice(AWARD_QUALIFIERS)}{rng.choice(AWARD_SUBJECTS)}给予最高{amount}万元资助。"
                if rng.random() < 0.25:
                    award = award.rstrip("。") + f"，资助期限不超过{rng.randint(2, 5)}年。"
            clause_title = _swap(rng.choice(vocab.clause_titles), industry, city)
            lines.append(f"（{_numeral(clause_no)}）{clause_title}。" + _swap("".join(body), industry, city) + award)
    lines.append("附则")
    department = rng.choice(DEPARTMENTS)
    lines.append(f"（{_numeral(clause_no + 1)}）制定配套实施办法或操作规程。本措施由{city[:-1]}市{department}负责解释，"
                 "并制定配套操作规程，根据实施效果进行动态调整。")
    lines.append(f"（{_numeral(clause_no + 2)}）本措施自{year}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日起实施，"
                 f"有效期{rng.randint(2, 5)}年。")
    return doc_id, title, "\n".join(lines) + "\n"


def write_corpus(folder: Path, documents: int, seed: int = 0, include_real: bool = True) -> Path:
    """Write a corpus folder of ``documents`` documents (the real measure first, unless ``include_real=False``).

    Returns:
        ``folder`` (with ``documents/`` and, with the real measure, its ``profiles/``).
    """
    from indexing.corpus import BUNDLED_CORPUS

    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    target = folder / "documents"
    target.mkdir(parents=True)
    synthetic = documents
    if include_real:
        for path in (BUNDLED_CORPUS / "documents").iterdir():
            shutil.copy2(path, target / path.name)
        if (BUNDLED_CORPUS / "profiles").is_dir():
            shutil.copytree(BUNDLED_CORPUS / "profiles", folder / "profiles")
        synthetic -= 1
    for index in range(1, synthetic + 1):
        doc_id, title, text = synthetic_document(index, seed)
        (target / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        (target / f"{doc_id}.toml").write_text(
            f'id = "{doc_id}"\nfile = "{doc_id}.txt"\ntitle = "{title}"\nshort_title = ""\nstatus = "正式稿"\n',
            encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic-only", action="store_true", help="leave the real measure out")
    args = parser.parse_args(argv)
    write_corpus(args.folder, args.documents, args.seed, include_real=not args.synthetic_only)
    print(f"wrote {args.documents} documents to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
