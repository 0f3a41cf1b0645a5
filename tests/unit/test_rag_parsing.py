"""Parsing: each supported type gives its text; every bad file is refused with a message and a 4xx status."""

import io

import pytest
from docx import Document
from pypdf import PdfWriter

from services.rag.errors import UnreadableDocumentError, UnsupportedDocumentError
from services.rag.parsing import content_type, parse


def pdf_bytes(pages: list[str], password: str | None = None) -> bytes:
    """A real PDF with a text layer (one Helvetica text object per page)."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(612, 792)
        font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                 NameObject("/BaseFont"): NameObject("/Helvetica")})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject("/F1"): writer._add_object(font)})})
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password:
        writer.encrypt(user_password=password, owner_password=password + "-owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(paragraphs: list[str]) -> bytes:
    document = Document()
    for p in paragraphs:
        document.add_paragraph(p)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "cell one", "cell two"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_plain_text_is_read_as_utf8():
    assert parse("Grüße aus Köln".encode(), "notes.txt")[0].text == "Grüße aus Köln"


def test_markdown_is_kept_as_written():
    assert parse(b"# Title\n\nBody *text*", "README.md")[0].text == "# Title\n\nBody *text*"


def test_pdf_text_comes_page_by_page_with_page_numbers():
    pages = parse(pdf_bytes(["Hello from page one", "And page two"]), "doc.pdf")
    assert [(p.number, p.text.strip()) for p in pages] == [(1, "Hello from page one"), (2, "And page two")]


def test_docx_paragraphs_and_tables_are_read():
    text = parse(docx_bytes(["First paragraph", "Second paragraph"]), "doc.docx")[0].text
    assert "First paragraph\nSecond paragraph" in text and "cell one | cell two" in text


def test_empty_file_is_refused():
    with pytest.raises(UnreadableDocumentError, match="empty"):
        parse(b"", "empty.txt")


def test_encrypted_pdf_is_refused():
    with pytest.raises(UnreadableDocumentError, match="encrypted"):
        parse(pdf_bytes(["secret"], password="s3cret"), "locked.pdf")


def test_corrupted_pdf_is_refused():
    data = pdf_bytes(["some text here"])
    with pytest.raises(UnreadableDocumentError):
        parse(data[:200] + b"\x00garbage" * 50, "broken.pdf")


def test_a_renamed_binary_is_not_a_pdf():
    with pytest.raises(UnreadableDocumentError, match="not a PDF"):
        parse(b"\x7fELF\x02\x01" + b"\x00" * 100, "program.pdf")


def test_binary_content_is_not_text():
    with pytest.raises(UnreadableDocumentError, match="binary"):
        parse(b"\x00\x01\x02binary", "data.txt")


def test_invalid_utf8_is_refused():
    with pytest.raises(UnreadableDocumentError, match="UTF-8"):
        parse(b"caf\xe9 latin-1", "latin.txt")


def test_a_zip_that_is_not_a_docx_is_refused():
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(UnreadableDocumentError, match="DOCX"):
        parse(buffer.getvalue(), "fake.docx")


def test_whitespace_only_document_has_no_text():
    with pytest.raises(UnreadableDocumentError, match="no text"):
        parse(b"  \n\n\t  ", "blank.md")


def test_pdf_without_a_text_layer_has_no_text():
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(UnreadableDocumentError, match="no text"):
        parse(out.getvalue(), "scan.pdf")


@pytest.mark.parametrize("name", ["tool.exe", "image.png", "noextension", "sheet.xlsx"])
def test_unsupported_types_are_refused_with_the_supported_list(name):
    with pytest.raises(UnsupportedDocumentError, match=r"\.pdf") as caught:
        content_type(name)
    assert caught.value.status == 415


def zip_bomb_docx(unpacked_mib: int) -> bytes:
    """A DOCX-looking zip with one entry of `unpacked_mib` MiB of zeros (a few hundred KB packed)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            block = b"\0" * (1 << 20)
            for _ in range(unpacked_mib):
                entry.write(block)
    return out.getvalue()


def test_a_docx_that_would_unpack_past_the_limit_is_refused_before_parsing(monkeypatch):
    import docx

    bomb = zip_bomb_docx(201)
    assert len(bomb) < 1 << 20
    opened = []
    monkeypatch.setattr(docx, "Document", lambda *a: opened.append(a))  # would inflate every part
    with pytest.raises(UnreadableDocumentError, match="would unpack to"):
        parse(bomb, "bomb.docx")
    assert opened == []


def test_a_docx_within_the_limit_is_read():
    assert "first paragraph" in parse(docx_bytes(["first paragraph"]), "ok.docx", max_docx_unpacked=1 << 20)[0].text
