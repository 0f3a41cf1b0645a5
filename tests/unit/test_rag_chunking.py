"""Chunking: sizes, overlap, page numbers, and the request-level limits."""

import pytest

from core.errors import InvalidInputError, ValidationError
from services.rag.chunking import Limits, Strategy, check_strategy, chunk_document, chunk_pages, split_text
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


@pytest.mark.parametrize("size, overlap", [(99, 0), (10_001, 0), (100, 51), (100, 99), (100, -1)])
def test_out_of_range_strategies_are_refused(size, overlap):
    # LISA's rule: size 100-10,000, overlap at most size/2 (overlap 99 of 100 once made 19,981 chunks of 100 KB).
    with pytest.raises(ValidationError):
        check_strategy(size, overlap)


@pytest.mark.parametrize("size, overlap", [(100, 50), (10_000, 5_000), (512, 0)])
def test_lisas_bounds_are_accepted(size, overlap):
    check_strategy(size, overlap)


def test_a_document_past_the_character_cap_is_a_400():
    pages = [Page("a" * 600), Page("b" * 401)]
    with pytest.raises(InvalidInputError, match="1,001 characters"):
        chunk_document(pages, Strategy("fixed", 500, 0), "big.txt", Limits(max_chars=1_000))


def test_a_document_past_the_chunk_cap_is_a_400_without_chunking_it_all():
    # Crafted: 5.1 M characters of words make > 50,000 chunks of 100 at the default cap.
    pages = [Page("word " * 1_020_000)]
    with pytest.raises(InvalidInputError, match="more than 50,000 chunks"):
        chunk_document(pages, Strategy("fixed", 100, 0), "many.txt")


def test_chunking_none_keeps_each_page_whole():
    chunks = chunk_document([Page("alpha beta", 1), Page("   ", 2), Page("gamma", 3)], Strategy("none"))
    assert [(c.text, c.index, c.page) for c in chunks] == [("alpha beta", 0, 1), ("gamma", 1, 3)]


def test_chunking_none_refuses_a_page_longer_than_the_largest_chunk():
    with pytest.raises(InvalidInputError, match="chunking 'none'"):
        chunk_document([Page("x" * 10_001)], Strategy("none"))
