"""Document intake: type by content, limits, typed errors, extraction, blob storage."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from oratio_voice.agents import intake
from oratio_voice.agents.intake import (
    CorruptDocument,
    DocumentWithoutText,
    EmptyDocument,
    EncryptedDocument,
    ExtensionMismatch,
    IntakeError,
    OversizedDocument,
    ScannedDocument,
    TooManyDocuments,
    UnsupportedDocumentType,
    extract,
    intake_documents,
    sniff,
)
from oratio_voice.store.blobs import LocalBlobStore
from tests.fixtures.documents import (
    encrypt_pdf,
    make_docx,
    make_image_only_docx,
    make_image_pdf,
    make_text_pdf,
)

SOPS = Path(__file__).resolve().parents[2] / "examples" / "sops"
PDF_LINES = [
    "Acme Returns SOP",
    "Starting a return",
    "1. Ask for the order number.",
    "2. Ask for the email address.",
    "Escalation",
    "Transfer the call to the returns queue when:",
    "- The customer reports an injury.",
]


def test_sniffs_type_from_content_not_name() -> None:
    assert sniff(make_text_pdf(["hello"])) == "pdf"
    assert sniff(make_docx([("Normal", "hello")])) == "docx"
    assert sniff(b"# Title\n\nText") == "markdown"
    assert sniff(b"Plain words only.") == "text"
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00") == "PNG image"
    assert sniff(b"\x00\x01\x02binary") == "binary data"


def test_pdf_text_becomes_markdown_with_headings() -> None:
    kind, text = extract("returns.pdf", make_text_pdf(PDF_LINES))
    assert kind == "pdf"
    assert "# Acme Returns SOP" in text
    assert "## Starting a return" in text
    assert "## Escalation" in text
    assert "1. Ask for the order number." in text


def test_docx_headings_and_lists_become_markdown() -> None:
    data = make_docx(
        [
            ("Title", "Clinic SOP"),
            ("Heading 1", "Booking"),
            ("List Number", "Ask for the name."),
            ("List Number", "Ask for the date of birth."),
            ("Heading 1", "Escalation"),
            ("List Bullet", "The caller asks for a nurse."),
        ]
    )
    kind, text = extract("clinic.docx", data)
    assert kind == "docx"
    assert "# Clinic SOP" in text
    assert "## Booking" in text
    assert "1. Ask for the date of birth." in text
    assert "- The caller asks for a nurse." in text


@pytest.mark.parametrize(
    ("name", "data", "error", "words"),
    [
        ("empty.md", b"", EmptyDocument, "empty"),
        ("blank.txt", b"   \n\t\n", EmptyDocument, "empty"),
        ("scan.pdf", make_image_pdf(), ScannedDocument, "OCR"),
        ("locked.pdf", encrypt_pdf(make_text_pdf(PDF_LINES)), EncryptedDocument, "password"),
        ("broken.pdf", make_text_pdf(PDF_LINES)[:200], CorruptDocument, "cannot be read"),
        ("blank.docx", make_image_only_docx(), DocumentWithoutText, "no text"),
        ("sop.pdf", b"# Returns\n\n1. Ask for the order.", ExtensionMismatch, "content is text"),
        ("sop.md", make_text_pdf(PDF_LINES), ExtensionMismatch, "content is a PDF"),
        ("sop.pdf", make_docx([("Normal", "x")]), ExtensionMismatch, "Word (DOCX)"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, UnsupportedDocumentType, "PNG"),
        ("data.bin", b"\x00\x01\x02\x03" * 10, UnsupportedDocumentType, "binary"),
    ],
)
def test_bad_uploads_raise_typed_errors(
    name: str, data: bytes, error: type[IntakeError], words: str
) -> None:
    with pytest.raises(error) as caught:
        extract(name, data)
    assert caught.value.document == name
    assert words in str(caught.value)


def test_corrupt_docx_is_reported() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<not-xml")
    with pytest.raises(CorruptDocument, match="DOCX cannot be read"):
        extract("broken.docx", out.getvalue())


def test_size_limit_is_configurable() -> None:
    data = b"# SOP\n\n" + b"word " * 400
    assert extract("ok.md", data)[0] == "markdown"
    with pytest.raises(OversizedDocument, match="1,000-byte limit"):
        extract("big.md", data, max_bytes=1000)
    assert intake.MAX_BYTES == 10 * 1024 * 1024


async def test_intake_stores_documents_under_the_agents_docs(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    data = (SOPS / "retail-returns.md").read_bytes()
    pdf = make_text_pdf(PDF_LINES)
    accepted = await intake_documents(
        [("../../etc/retail-returns.md", data), ("acme.pdf", pdf)],
        tenant_id="ten_a",
        agent_id="agt_b",
        blobs=blobs,
    )
    first, second = (a.document for a in accepted)
    assert first.name == "retail-returns.md"
    assert first.blob_key == "ten_a/agents/agt_b/docs/retail-returns.md"
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.size == len(data)
    assert first.content_type == "text/markdown"
    assert second.content_type == "application/pdf"
    assert await blobs.get(first.blob_key) == data
    assert await blobs.get(second.blob_key) == pdf
    assert [c.topic for c in accepted[0].chunks()][:2] == [
        "Northwind Outfitters: Returns and Refunds SOP",
        "Tone",
    ]


async def test_one_bad_file_stores_nothing(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    with pytest.raises(ScannedDocument):
        await intake_documents(
            [("good.md", b"# Good\n\n1. Ask for the name."), ("scan.pdf", make_image_pdf())],
            tenant_id="ten_a",
            agent_id="agt_b",
            blobs=blobs,
        )
    assert await blobs.list("ten_a/") == []


async def test_count_limit_and_duplicates() -> None:
    files = [(f"sop{i}.md", b"# SOP\n\nText.") for i in range(3)]
    with pytest.raises(TooManyDocuments, match="at most 2"):
        await intake_documents(files, tenant_id="t", agent_id="a", max_files=2)
    with pytest.raises(IntakeError, match="same name"):
        await intake_documents(files[:1] * 2, tenant_id="t", agent_id="a")
    with pytest.raises(EmptyDocument, match="no documents"):
        await intake_documents([], tenant_id="t", agent_id="a")
