"""An update the record cannot hold is the caller's mistake: a 400 naming the field (found by the api fuzz: a PUT of
a repository or collection with `"pipelines": null` was a 500)."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from core.rag import RepositoryRecord, UpdateRepositoryRequest
from services.rag.service import _updated


def test_null_for_a_field_the_record_needs_is_invalid_input():
    record = RepositoryRecord.model_validate({"repositoryId": "docs", "type": "pgvector"})
    changes = UpdateRepositoryRequest.model_validate({"pipelines": None, "metadata": None}).changes()
    with pytest.raises(InvalidInputError, match="pipelines"):
        _updated(RepositoryRecord, record, changes)


def test_a_valid_change_applies():
    record = RepositoryRecord.model_validate({"repositoryId": "docs", "type": "pgvector"})
    assert _updated(RepositoryRecord, record, {"description": "new"}).description == "new"
