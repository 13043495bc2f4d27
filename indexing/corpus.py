"""The corpus folder: policy documents with a TOML metadata file each, loaded and parsed."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from indexing.document import LinkedDocument, PolicyDocument
from indexing.parser import MAX_DOCUMENT_BYTES, ParseError, decode_document, parse_policy
from indexing.records import record

BUNDLED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DOCUMENT_SUFFIXES = (".txt", ".md", ".docx", ".pdf")


@dataclass(frozen=True)
class DocumentMeta:
    """Metadata of one corpus document (from its ``.toml`` sidecar, or defaults)."""

    id: str
    file: str
    title: str
    short_title: str = ""
    aliases: tuple[str, ...] = ()
    issuer: str = ""
    doc_number: str = ""
    status: str = ""
    year: int | None = None
    effective_date: str = ""
    validity: str = ""
    interpreter: str = ""
    linked: tuple[LinkedDocument, ...] = field(default=())

    @property
    def is_draft(self) -> bool:
        return "征求意见" in self.status


@dataclass(frozen=True)
class CorpusDocument:
    """A parsed document with its metadata and the hash of the bytes it came from."""

    meta: DocumentMeta
    document: PolicyDocument
    sha256: str
    path: Path


def read_meta(toml_path: Path) -> DocumentMeta:
    """Read a document's metadata sidecar."""
    data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    linked = tuple(record(LinkedDocument, item) for item in data.get("linked", ()))
    return record(DocumentMeta, data, linked=linked)


def extract_text(path: Path, data: bytes) -> tuple[str, list]:
    """Text of a .txt/.md/.docx/.pdf file (the last two through python-docx and pypdf)."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        import io

        try:
            import docx  # python-docx
        except ImportError as exc:  # pragma: no cover - dependency is declared
            raise ParseError('读取 .docx 需要 python-docx：pip install "policy-assistant"', source=path.name) from exc
        try:
            paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
        except Exception as exc:  # noqa: BLE001 - any library failure means "not a readable docx"
            raise ParseError(f"无法读取 Word 文档：{exc}", source=path.name) from None
        return "\n".join(paragraphs), []
    if suffix == ".pdf":
        import io

        from pypdf import PdfReader

        try:
            pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
        except Exception as exc:  # noqa: BLE001
            raise ParseError(f"无法读取 PDF：{exc}", source=path.name) from None
        # Some PDF writers' CJK fonts come back from pypdf with a NUL before every character.
        text = unwrap_pdf_lines("\n".join(pages).replace("\x00", ""))
        if not text.strip():
            raise ParseError("PDF 没有文字层（可能是扫描件），无法解析", source=path.name)
        return text, []
    return decode_document(data, source=path.name)


_LABEL_START = re.compile(r"^\s*(?:[（(][一二三四五六七八九十百零〇两]+[）)]|[一二三四五六七八九十百]+、|第[一二三四五六七八九十百零〇两\d]+[条章]|附\s*则)")
_WRAP_MIN_CHARS = 20


def unwrap_pdf_lines(text: str) -> str:
    """Undo a PDF's visual line wrapping: join a line onto a long previous line that did not end a
    sentence, unless it starts a new clause or chapter (PDF text layers break lines mid-word: 资\n助)."""
    out: list[str] = []
    for line in text.split("\n"):
        previous = out[-1] if out else ""
        if (
            previous.strip()
            and len(previous.strip()) >= _WRAP_MIN_CHARS
            and not previous.rstrip().endswith(("。", "！", "？", "；", "：", ":"))
            and line.strip()
            and not _LABEL_START.match(line)
        ):
            out[-1] = previous.rstrip() + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def load_document(path: Path, meta: DocumentMeta | None = None) -> CorpusDocument:
    """Read, decode and parse one document file.

    Args:
        path: the document.
        meta: its metadata; defaults to the ``.toml`` beside it, else id and title from the file name.

    Returns:
        The parsed document.

    Raises:
        ParseError: if the file cannot be read or structured.
    """
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:   # checked before reading: a huge .pdf/.docx is never handed to a parser
            raise ParseError(
                f"文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_DOCUMENT_BYTES // 1024 // 1024} MB）", source=path.name
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"无法读取文件：{exc.strerror}", source=str(path)) from None
    if meta is None:
        sidecar = path.with_suffix(".toml")
        meta = read_meta(sidecar) if sidecar.exists() else DocumentMeta(id=path.stem, file=path.name, title="")
    text, warnings = extract_text(path, data)
    document = parse_policy(text, meta.id, meta.title, meta.linked, source=path.name, warnings=warnings)
    if not meta.title:
        meta = DocumentMeta(id=meta.id, file=meta.file, title=document.title or path.stem)
    return CorpusDocument(meta, document, hashlib.sha256(data).hexdigest(), path)


def document_paths(corpus_dir: Path) -> list[Path]:
    """The document files of a corpus folder (its ``documents/`` subfolder when present), sorted."""
    folder = corpus_dir / "documents" if (corpus_dir / "documents").is_dir() else corpus_dir
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file())


def load_corpus(corpus_dir: Path = BUNDLED_CORPUS) -> list[CorpusDocument]:
    """Load and parse every document in a corpus folder.

    Raises:
        ParseError: on the first document that cannot be structured.
    """
    documents = [load_document(p) for p in document_paths(corpus_dir)]
    if not documents:
        raise ParseError(f"语料目录中没有文档：{corpus_dir}")
    return documents
