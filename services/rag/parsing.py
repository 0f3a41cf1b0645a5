"""Documents to text: plain text, Markdown, PDF (pypdf) and DOCX (python-docx), page by page.

The type comes from the file name's extension and must agree with the content (a `.pdf` must start like a PDF, a
`.docx` must be a zip), so a renamed binary is refused here rather than indexed as garbage. A DOCX is a zip: one
whose entries would unpack to more than MAX_DOCX_UNPACKED bytes (a zip bomb) is refused from its directory, before
anything is decompressed (zipfile never inflates an entry past the size its directory declares).
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from services.rag.errors import UnreadableDocumentError, UnsupportedDocumentError

TEXT_TYPES = {".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown"}
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_TYPES = {**TEXT_TYPES, ".pdf": PDF_TYPE, ".docx": DOCX_TYPE}
MAX_DOCX_UNPACKED = 200 * 1024 * 1024

logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns at length about every malformed object


@dataclass(frozen=True)
class Page:
    text: str
    number: int | None = None  # 1-based page of a PDF; None where a format has no pages


def content_type(file_name: str) -> str:
    """The content type of a supported file name, else UnsupportedDocumentError naming what is supported."""
    suffix = PurePosixPath(file_name).suffix.lower()
    if suffix not in CONTENT_TYPES:
        supported = ", ".join(sorted(CONTENT_TYPES))
        shown = suffix or "(no extension)"
        raise UnsupportedDocumentError(f"unsupported document type {shown}: supported are {supported}")
    return CONTENT_TYPES[suffix]


def parse(data: bytes, file_name: str, *, max_docx_unpacked: int = MAX_DOCX_UNPACKED) -> list[Page]:
    """The text of a document, page by page; UnreadableDocumentError when there is none to be had."""
    kind = content_type(file_name)
    if not data:
        raise UnreadableDocumentError(f"{file_name} is empty")
    if kind == PDF_TYPE:
        pages = _pdf(data, file_name)
    elif kind == DOCX_TYPE:
        pages = [Page(_docx(data, file_name, max_docx_unpacked))]
    else:
        pages = [Page(_text(data, file_name))]
    pages = [p for p in pages if p.text.strip()]
    if not pages:
        raise UnreadableDocumentError(f"no text could be extracted from {file_name}")
    return pages


def _text(data: bytes, file_name: str) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocumentError(f"{file_name} looks binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocumentError(f"{file_name} is not UTF-8 text (byte {exc.start})") from None


def _pdf(data: bytes, file_name: str) -> list[Page]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocumentError(f"{file_name} is not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an owner password alone still lets everyone read
            raise UnreadableDocumentError(f"{file_name} is an encrypted PDF: remove its password and upload it again")
        return [Page(page.extract_text() or "", number) for number, page in enumerate(reader.pages, start=1)]
    except UnreadableDocumentError:
        raise
    except FileNotDecryptedError:
        raise UnreadableDocumentError(f"{file_name} is an encrypted PDF: remove its password and upload it again") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError) as exc:
        # pypdf signals broken files with many exception types; none of them is the caller's fault to debug.
        raise UnreadableDocumentError(f"{file_name} is not a readable PDF ({type(exc).__name__})") from None


def check_unpacked_size(data: bytes, file_name: str, limit: int) -> None:
    """Refuse a zip whose entries declare more than `limit` bytes in all, from its central directory alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise UnreadableDocumentError(f"{file_name} is not a readable DOCX ({type(exc).__name__})") from None
    if unpacked > limit:
        raise UnreadableDocumentError(f"{file_name} would unpack to {unpacked:,} bytes; a DOCX may unpack to at most "
                                      f"{limit:,}")


def _docx(data: bytes, file_name: str, max_unpacked: int) -> str:
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnreadableDocumentError(f"{file_name} is not a DOCX file (not a zip package)")
    check_unpacked_size(data, file_name, max_unpacked)
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocumentError(f"{file_name} is not a readable DOCX ({type(exc).__name__})") from None
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(blocks)
