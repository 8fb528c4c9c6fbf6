"""Document intake: SOP uploads (Markdown, text, PDF, DOCX) checked by content, not by name,
turned into Markdown text and stored in the tenant's blob space."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from oratio_voice.agents.retrieval import Passage, split_passages
from oratio_voice.agents.sop_markdown import to_markdown
from oratio_voice.models import Document
from oratio_voice.store.base import BlobStore

DocumentKind = Literal["markdown", "text", "pdf", "docx"]
MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 20
CONTENT_TYPES: dict[str, str] = {
    "markdown": "text/markdown",
    "text": "text/plain",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# What a file name claims, by extension; 'text' covers Markdown too.
_CLAIMS: dict[str, str] = {
    "md": "text",
    "markdown": "text",
    "txt": "text",
    "text": "text",
    "pdf": "pdf",
    "docx": "docx",
    "doc": "Word 97 document",
    "rtf": "RTF document",
    "png": "PNG image",
    "jpg": "JPEG image",
    "jpeg": "JPEG image",
    "gif": "GIF image",
    "zip": "ZIP archive",
    "xlsx": "Excel workbook",
    "pptx": "PowerPoint deck",
}
_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Word 97 document"),
    (b"{\\rtf", "RTF document"),
    (b"MZ", "program"),
    (b"\x7fELF", "program"),
]
_MARKDOWN_HINT = re.compile(r"^(#{1,6}\s|\s*[-*+]\s|\s*\d+[.)]\s|>\s)|\*\*|\]\(", re.M)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_DOCX_HEADING = re.compile(r"^(?:Heading\s*(\d)|Title)$", re.I)


class IntakeError(ValueError):
    """An upload cannot become an SOP document; the message says which file and why."""

    def __init__(self, document: str, reason: str) -> None:
        super().__init__(f"{document}: {reason}")
        self.document = document
        self.reason = reason


class EmptyDocument(IntakeError):
    """The file has no bytes, or only whitespace."""


class OversizedDocument(IntakeError):
    """The file is larger than the configured limit."""


class TooManyDocuments(IntakeError):
    """More files than one agent build accepts."""


class UnsupportedDocumentType(IntakeError):
    """The content is not Markdown, text, PDF or DOCX."""


class ExtensionMismatch(IntakeError):
    """The file name claims one type and the content is another."""


class ScannedDocument(IntakeError):
    """A PDF of page images: there is no text layer to read."""


class EncryptedDocument(IntakeError):
    """A password-protected PDF."""


class CorruptDocument(IntakeError):
    """The file looks like a PDF or DOCX but cannot be read as one."""


class DocumentWithoutText(IntakeError):
    """A readable PDF or DOCX that contains no text."""


@dataclass(frozen=True, slots=True)
class ExtractedDocument:
    """An accepted upload: its stored record, its kind and its text as Markdown."""

    document: Document
    kind: DocumentKind
    text: str

    def chunks(self) -> list[Passage]:
        """Heading sections: the units retrieval cites."""
        return split_passages(self.document.name, self.text)


def sniff(data: bytes) -> str:
    """The content's type from its bytes: a DocumentKind, or a description of what else it is."""
    head = data[:2048]
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return "ZIP archive"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "Excel workbook"
        if "ppt/presentation.xml" in names:
            return "PowerPoint deck"
        return "ZIP archive"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    text = _decode(data)
    if text is None:
        return "binary data"
    return "markdown" if _MARKDOWN_HINT.search(text) else "text"


def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text[:8192])
        return text if printable >= 0.95 * min(len(text), 8192) else None


def safe_name(name: str) -> str:
    """The base name only, in safe characters: no paths, no traversal."""
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip(" .")
    return cleaned or "document"


def extract(name: str, data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[DocumentKind, str]:
    """Check one upload and return its kind and its text as Markdown; raises IntakeError."""
    if len(data) > max_bytes:
        raise OversizedDocument(
            name, f"{len(data):,} bytes is over the {max_bytes:,}-byte limit per document"
        )
    if not data.strip():
        raise EmptyDocument(name, "the file is empty")
    found = sniff(data)
    extension = PurePosixPath(name).suffix.lower().lstrip(".")
    claimed = _CLAIMS.get(extension)
    family = "text" if found in {"markdown", "text"} else found
    if claimed and claimed != family:
        raise ExtensionMismatch(
            name, f"the name says .{extension} but the content is {_describe(found)}"
        )
    if found == "pdf":
        text = _pdf_text(name, data)
    elif found == "docx":
        text = _docx_text(name, data)
    elif found in {"markdown", "text"}:
        text = to_markdown(_decode(data) or "")
    else:
        raise UnsupportedDocumentType(
            name, f"the content is {_describe(found)}; upload Markdown, text, PDF or DOCX"
        )
    if not text.strip():
        raise EmptyDocument(name, "the file contains only whitespace")
    kind: DocumentKind = found  # type: ignore[assignment]
    return kind, text


def _describe(found: str) -> str:
    return {
        "pdf": "a PDF",
        "docx": "a Word (DOCX) document",
        "markdown": "text",
        "text": "text",
    }.get(found, f"a {found}" if found[0] not in "aeiouAEIOU" else f"an {found}")


def _pdf_text(name: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedDocument(name, "the PDF is password-protected; upload it unlocked")
        pages = list(reader.pages)
        texts = [(page.extract_text() or "").strip() for page in pages]
        has_images = any(_page_has_images(page) for page in pages)
    except IntakeError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptDocument(name, f"the PDF cannot be read ({exc})") from exc
    if not pages:
        raise CorruptDocument(name, "the PDF has no pages")
    text = "\n\n".join(t for t in texts if t)
    if not text.strip():
        if has_images:
            raise ScannedDocument(
                name, "the PDF holds page images but no text; run OCR on it or upload the text"
            )
        raise DocumentWithoutText(name, "the PDF contains no text")
    return to_markdown(text)


def _page_has_images(page: object) -> bool:
    try:
        return bool(getattr(page, "images", []))
    except Exception:
        return False


def _docx_text(name: str, data: bytes) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zip, XML and KeyError failures alike
        raise CorruptDocument(name, f"the DOCX cannot be read ({type(exc).__name__})") from exc
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = paragraph.style.name if paragraph.style is not None else ""
        heading = _DOCX_HEADING.match(style or "")
        if heading:
            level = int(heading.group(1)) + 1 if heading.group(1) else 1
            lines.append(f"\n{'#' * min(level, 6)} {text}\n")
        elif "List Number" in (style or ""):
            lines.append(f"1. {text}")
        elif "List" in (style or ""):
            lines.append(f"- {text}")
        else:
            lines.append(f"\n{text}\n")
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise DocumentWithoutText(name, "the DOCX contains no text")
    return text


def doc_key(tenant_id: str, agent_id: str, name: str) -> str:
    return f"{tenant_id}/agents/{agent_id}/docs/{name}"


async def intake_documents(
    files: list[tuple[str, bytes]],
    *,
    tenant_id: str,
    agent_id: str,
    blobs: BlobStore | None = None,
    max_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES,
) -> list[ExtractedDocument]:
    """Validate every upload before storing any; then store each under the agent's docs."""
    if not files:
        raise EmptyDocument("(no files)", "no documents were uploaded")
    if len(files) > max_files:
        raise TooManyDocuments(
            f"{len(files)} files", f"at most {max_files} documents per agent build"
        )
    accepted: list[ExtractedDocument] = []
    names: set[str] = set()
    for raw_name, data in files:
        name = safe_name(raw_name)
        if name in names:
            raise IntakeError(name, "two uploads have the same name")
        names.add(name)
        kind, text = extract(name, data, max_bytes=max_bytes)
        record = Document(
            name=name,
            blob_key=doc_key(tenant_id, agent_id, name),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            content_type=CONTENT_TYPES[kind],
        )
        accepted.append(ExtractedDocument(record, kind, text))
    if blobs is not None:
        for (_, data), extracted in zip(files, accepted, strict=True):
            await blobs.put(extracted.document.blob_key, data)
    return accepted
