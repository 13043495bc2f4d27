""".docx, text-layer .pdf and GBK text become clauses; empty, binary and structureless files are rejected clearly."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from tiny_models import HashingEmbedder

from indexing.additions import DocumentRejected
from indexing.build import build_index
from indexing.config import IndexConfig
from indexing.corpus import load_document
from indexing.index_files import open_index

LINES = [
    "深圳市龙岗区传统文化数字化扶持办法",
    "（试行）",
    "为推动本区传统文化资源数字化，制定本办法。",
    "一、支持方向",
    "（一）支持英歌舞数字化保护。对开展英歌舞动作捕捉、三维建档并形成数字资产的项目，给予最高30万元资助。",
    "（二）支持传统文化数字展演。对在本区举办的沉浸式传统文化数字展演活动，给予最高50万元资助。",
    "附则",
    "（三）本办法自发布之日起施行，有效期3年。",
]
TEXT = "\n".join(LINES) + "\n"


def config(home: Path) -> IndexConfig:
    return IndexConfig(home=home, embed_model="fake-hashing")


def rejected(home: Path, path: Path) -> DocumentRejected:
    with pytest.raises(DocumentRejected) as info:
        build_index(config(home), add_files=[path], embedder=HashingEmbedder())
    assert not (home / "corpus").exists() and not (home / "index").exists()
    return info.value


def assert_three_clauses(path: Path) -> None:
    document = load_document(path).document
    assert [c.key for c in document.clauses] == ["一", "二", "三"]
    assert document.section("一").text.startswith("（一）支持英歌舞数字化保护")
    assert "最高30万元资助" in document.section("一").text
    assert document.title.startswith("深圳市龙岗区传统文化数字化扶持办法")
    for section in document.sections:
        assert document.text[section.start:section.end] == section.text


# ---- .docx --------------------------------------------------------------------------------------------
def test_docx_is_parsed_into_clauses_and_can_be_added(tmp_path: Path, isolated_home: Path) -> None:
    import docx

    path = tmp_path / "longgang.docx"
    document = docx.Document()
    for line in LINES:
        document.add_paragraph(line)
    document.save(str(path))
    assert_three_clauses(path)

    summary = build_index(config(isolated_home), add_files=[path], embedder=HashingEmbedder())
    assert summary.documents == 2 and (isolated_home / "corpus" / "documents" / "longgang.docx").is_file()
    index = open_index(config(isolated_home), embedder=HashingEmbedder())
    hit = index.chunks[index.bm25.search("英歌舞 动作捕捉", 1)[0].chunk_index]
    assert (hit.doc_id, hit.section_key) == ("longgang", "一")


def test_broken_docx_is_rejected(tmp_path: Path, isolated_home: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "无法读取 Word 文档" in rejected(isolated_home, path).reason


# ---- .pdf ---------------------------------------------------------------------------------------------
def minimal_cjk_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer is ``lines``: a Type0 font with Identity-H codes (UTF-16BE), no font file.

    It renders as blanks, but its text layer is exactly what a CJK text PDF carries, without needing a font
    on the machine.
    """
    body = " ".join(f"<{line.encode('utf-16-be').hex()}> Tj T*" for line in lines)
    content = f"BT /F1 12 Tf 16 TL 40 800 Td {body} ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H /DescendantFonts [6 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 4 /FontBBox [0 -120 1000 880] /ItalicAngle 0 "
        b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def cjk_font() -> tuple[str, int] | None:
    """A CJK font file on this machine (``fc-list :lang=zh``), preferring a regular weight; None when absent."""
    if not shutil.which("fc-list"):
        return None
    result = subprocess.run(["fc-list", ":lang=zh", "file", "style"], capture_output=True, text=True, check=False)
    entries = [line.split(":")[0].strip() for line in result.stdout.splitlines() if line.strip()]
    entries = [e for e in entries if e.lower().endswith((".ttf", ".otf", ".ttc"))]
    if not entries:
        return None
    regular = [e for e in entries if "regular" in e.lower()] or entries
    return sorted(regular)[0], 0


def test_text_layer_pdf_without_font_file_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "longgang.pdf"
    path.write_bytes(minimal_cjk_pdf(LINES))
    assert_three_clauses(path)


def test_pdf_made_with_fpdf2_and_a_cjk_font_is_parsed(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is not installed (pip install fpdf2)")
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine (fc-list :lang=zh is empty); the font-free PDF test covers PDFs")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.add_font("cjk", fname=font[0], collection_font_number=font[1])
    pdf.set_font("cjk", size=11)
    for line in LINES:
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "longgang-fpdf.pdf"
    pdf.output(str(path))
    # pypdf decodes fpdf2's CID-keyed CJK fonts with a NUL before every character, and the text layer
    # wraps lines mid-word; extract_text undoes both.
    assert_three_clauses(path)


def test_pdf_without_text_layer_is_rejected(tmp_path: Path, isolated_home: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "scan.pdf"
    path.write_bytes(buffer.getvalue())
    assert "没有文字层" in rejected(isolated_home, path).reason


def test_ascii_only_pdf_has_no_clause_structure(tmp_path: Path, isolated_home: Path) -> None:
    path = tmp_path / "english.pdf"
    path.write_bytes(minimal_cjk_pdf(["Some notes on creative industries", "We should support them."]))
    error = rejected(isolated_home, path)
    assert "找不到条款结构" in error.reason and error.line == 1


# ---- encodings and junk ---------------------------------------------------------------------------------
def test_gbk_text_is_accepted_with_a_warning(tmp_path: Path, isolated_home: Path) -> None:
    path = tmp_path / "longgang-gbk.txt"
    path.write_bytes(TEXT.encode("gbk"))
    assert_three_clauses(path)
    assert [w.code for w in load_document(path).document.warnings] == ["encoding"]
    summary = build_index(config(isolated_home), add_files=[path], embedder=HashingEmbedder())
    assert any("GBK" in w and "longgang-gbk.txt" in w for w in summary.warnings)
    # The copy in the corpus keeps the original bytes.
    assert (isolated_home / "corpus" / "documents" / path.name).read_bytes() == TEXT.encode("gbk")


@pytest.mark.parametrize(
    ("name", "data", "reason", "line"),
    [
        ("empty.txt", b"", "文件为空", None),
        ("blank.md", b"  \n\n\t\n", "文件为空", None),
        ("binary.txt", bytes(range(256)) * 4, "二进制", None),
        ("notes.txt", "数字创意产业发展很快。\n我们应该多支持。\n".encode(), "找不到条款结构", 1),
        ("latin1.txt", "caf\xe9 \xff\xfe".encode("latin-1") * 3 + b"\x81", "无法识别文件编码", 1),
    ],
)
def test_junk_files_are_rejected_clearly(
    tmp_path: Path, isolated_home: Path, name: str, data: bytes, reason: str, line: int | None
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    error = rejected(isolated_home, path)
    assert reason in error.reason and error.line == line
    assert str(error).startswith(f"{name}: ")


def test_missing_and_unsupported_files_are_rejected(tmp_path: Path, isolated_home: Path) -> None:
    assert "文件不存在" in rejected(isolated_home, tmp_path / "nope.txt").reason
    image = tmp_path / "scan.png"
    image.write_bytes(b"\x89PNG\r\n")
    assert "不支持的文件类型" in rejected(isolated_home, image).reason
