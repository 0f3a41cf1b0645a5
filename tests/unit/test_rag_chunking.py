"""Chunking: sizes, overlap, page numbers, and the request-level limits."""

import pytest

from core.errors import ValidationError
from services.rag.chunking import check_strategy, chunk_pages, split_text
from services.rag.parsing import Page

PROSE = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(400))


def test_no_chunk_exceeds_the_size():
    chunks = split_text(PROSE, 200, 40)
    assert chunks and max(len(c) for c in chunks) <= 200


def test_chunks_cover_every_word_in_order():
    chunks = split_text(PROSE, 200, 0)
    assert " ".join(chunks).split() == PROSE.split()


def test_consecutive_chunks_overlap_by_at_most_the_overlap():
    chunks = split_text(PROSE, 200, 60)  # sentences are ≤ 41 characters: one always fits in the overlap
    for previous, current in zip(chunks, chunks[1:]):
        shared = next((n for n in range(min(len(previous), len(current)), 0, -1) if previous.endswith(current[:n])), 0)
        assert 0 < shared <= 60


def test_paragraphs_are_preferred_boundaries():
    text = "First paragraph is short.\n\nSecond paragraph is short too.\n\n" + "x " * 30
    assert split_text(text, 50, 0)[0] == "First paragraph is short."


def test_text_without_spaces_is_cut_by_characters():
    assert [len(c) for c in split_text("a" * 1000, 300, 0)] == [300, 300, 300, 100]


def test_whitespace_only_text_makes_no_chunks():
    assert split_text(" \n\n \t ", 100, 10) == []


def test_chunks_keep_their_page_and_a_document_wide_index():
    chunks = chunk_pages([Page("alpha " * 50, 1), Page("beta " * 50, 2)], 100, 0)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert {c.page for c in chunks if "alpha" in c.text} == {1} and {c.page for c in chunks if "beta" in c.text} == {2}


@pytest.mark.parametrize("size, overlap", [(63, 0), (8193, 0), (100, 100), (100, -1)])
def test_out_of_range_strategies_are_refused(size, overlap):
    with pytest.raises(ValidationError):
        check_strategy(size, overlap)
