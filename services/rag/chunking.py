"""Splitting text into overlapping chunks of at most `size` characters, on the most natural boundary available.

The same idea as LangChain's RecursiveCharacterTextSplitter (which LISA uses): split on paragraphs, then lines, then
sentences, then words, then characters, only as far as needed to fit; then pack neighbouring pieces into chunks and
start each chunk with the tail (up to `overlap` characters) of the previous one.

Strategies are LISA's: `fixed` (size 100-10,000, overlap 0 to size/2) or `none` (each page one chunk, which must
then fit the largest fixed size). A document is refused (400) past `max_chars` of text or `max_chunks` chunks, so
no upload can make an ingest job of unbounded size (a 100 KB file once made 19,981 chunks with overlap 99 of 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.errors import InvalidInputError, ValidationError
from services.rag.parsing import Page

SEPARATORS = ("\n\n", "\n", ". ", " ", "")
MIN_SIZE, MAX_SIZE = 100, 10_000
DEFAULT_SIZE, DEFAULT_OVERLAP = 512, 51
MAX_DOCUMENT_CHARS = 20_000_000
MAX_DOCUMENT_CHUNKS = 50_000


@dataclass(frozen=True)
class Chunk:
    text: str
    index: int  # position in the document, from 0
    page: int | None = None


@dataclass(frozen=True)
class Strategy:
    type: Literal["fixed", "none"] = "fixed"
    size: int = DEFAULT_SIZE
    overlap: int = DEFAULT_OVERLAP


@dataclass(frozen=True)
class Limits:
    max_chars: int = MAX_DOCUMENT_CHARS
    max_chunks: int = MAX_DOCUMENT_CHUNKS


def check_strategy(size: int, overlap: int) -> None:
    """LISA's rule for fixed chunking: size 100-10,000 characters, overlap at least 0 and at most size/2."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValidationError(f"chunk size must be between {MIN_SIZE} and {MAX_SIZE} characters, got {size}",
                              param="chunkSize")
    if not 0 <= overlap <= size / 2:
        raise ValidationError(f"chunk overlap must be between 0 and half the chunk size ({size // 2}), got {overlap}",
                              param="chunkOverlap")


def _pieces(text: str, size: int, separators: tuple[str, ...] = SEPARATORS) -> list[str]:
    """Pieces of at most `size` characters that concatenate back to `text` (separators stay on their left piece)."""
    if len(text) <= size:
        return [text]
    separator, rest = separators[0], separators[1:]
    if separator == "":
        return [text[i:i + size] for i in range(0, len(text), size)]
    if separator not in text:
        return _pieces(text, size, rest)
    parts = text.split(separator)
    pieces: list[str] = []
    for i, part in enumerate(parts):
        piece = part + separator if i < len(parts) - 1 else part
        if piece:
            pieces.extend(_pieces(piece, size, rest) if len(piece) > size else [piece])
    return pieces


def split_text(text: str, size: int, overlap: int) -> list[str]:
    pieces = _pieces(text, size)
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for piece in pieces:
        if current and length + len(piece) > size:
            chunks.append("".join(current))
            # Keep the tail of the chunk just closed, as far as it fits both the overlap and the next piece.
            while current and (length > overlap or length + len(piece) > size):
                length -= len(current.pop(0))
        current.append(piece)
        length += len(piece)
    if current:
        chunks.append("".join(current))
    return [c.strip() for c in chunks if c.strip()]


def check_text_size(pages: list[Page], name: str, limits: Limits) -> None:
    chars = sum(len(p.text) for p in pages)
    if chars > limits.max_chars:
        raise InvalidInputError(f"{name} has {chars:,} characters of text; a document may have at most "
                                f"{limits.max_chars:,}: split it into smaller documents", param="file")


def chunk_document(pages: list[Page], strategy: Strategy, name: str = "the document",
                   limits: Limits = Limits()) -> list[Chunk]:
    """The document's chunks, numbered across it (a chunk never spans two pages); 400 past the limits."""
    check_text_size(pages, name, limits)
    if strategy.type == "none":
        chunks = [Chunk(text=p.text.strip(), index=0, page=p.number) for p in pages if p.text.strip()]
        too_long = [c for c in chunks if len(c.text) > MAX_SIZE]
        if too_long:
            raise InvalidInputError(f"{name} has a page of {len(too_long[0].text):,} characters: chunking 'none' takes "
                                    f"pages of at most {MAX_SIZE:,}; use fixed chunking", param="chunkingStrategy")
        chunks = [Chunk(c.text, i, c.page) for i, c in enumerate(chunks)]
    else:
        check_strategy(strategy.size, strategy.overlap)
        chunks = []
        for page in pages:
            for text in split_text(page.text, strategy.size, strategy.overlap):
                chunks.append(Chunk(text=text, index=len(chunks), page=page.number))
            if len(chunks) > limits.max_chunks:
                break
    if len(chunks) > limits.max_chunks:
        raise InvalidInputError(f"{name} makes more than {limits.max_chunks:,} chunks of {strategy.size} characters; "
                                f"split it or choose larger chunks", param="chunkingStrategy")
    return chunks


def chunk_pages(pages: list[Page], size: int, overlap: int) -> list[Chunk]:
    """Fixed chunking of every page, within the default limits."""
    return chunk_document(pages, Strategy("fixed", size, overlap))
