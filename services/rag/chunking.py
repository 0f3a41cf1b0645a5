"""Splitting text into overlapping chunks of at most `size` characters, on the most natural boundary available.

The same idea as LangChain's RecursiveCharacterTextSplitter (which LISA uses): split on paragraphs, then lines, then
sentences, then words, then characters, only as far as needed to fit; then pack neighbouring pieces into chunks and
start each chunk with the tail (up to `overlap` characters) of the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.rag.parsing import Page

SEPARATORS = ("\n\n", "\n", ". ", " ", "")


@dataclass(frozen=True)
class Chunk:
    text: str
    index: int  # position in the document, from 0
    page: int | None = None


def check_strategy(size: int, overlap: int) -> None:
    from core.errors import ValidationError

    if not 64 <= size <= 8192:
        raise ValidationError(f"chunk size must be between 64 and 8192 characters, got {size}", param="chunkSize")
    if not 0 <= overlap < size:
        raise ValidationError(f"chunk overlap must be at least 0 and smaller than the chunk size ({size}), got {overlap}",
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


def chunk_pages(pages: list[Page], size: int, overlap: int) -> list[Chunk]:
    """Chunks of every page in order, numbered across the document; a chunk never spans two pages."""
    chunks: list[Chunk] = []
    for page in pages:
        for text in split_text(page.text, size, overlap):
            chunks.append(Chunk(text=text, index=len(chunks), page=page.number))
    return chunks
