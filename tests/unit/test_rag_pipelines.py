"""Pipelines' decisions without AWS: which objects a pipeline watches and which collection it fills, when a daily one
is due, what changed between two listings, the S3 events EventBridge delivers, one document id per object version,
the buckets a pipeline may watch, and the AWS wiring's pattern and queue policy."""

import json

import pytest

from core.errors import InvalidInputError
from core.rag import PipelineConfig, RepositoryRecord
from providers.rag_pipeline import event_pattern, queue_policy
from services.rag.pipelines import (DAY_S, ObjectEvent, Target, auto_document_id, changes, check_pipeline_buckets, due,
                                    event_from_message, pipeline_collection_id, watched)

PIPELINE = PipelineConfig(s3_bucket="src-bucket", s3_prefix="inbox/")


def test_a_pipeline_watches_supported_files_under_its_prefix_in_its_bucket():
    assert watched(PIPELINE, "src-bucket", "inbox/a.txt") and watched(PIPELINE, "src-bucket", "inbox/deep/b.PDF")
    assert not watched(PIPELINE, "other", "inbox/a.txt")
    assert not watched(PIPELINE, "src-bucket", "outbox/a.txt")
    assert not watched(PIPELINE, "src-bucket", "inbox/image.png")
    assert not watched(PIPELINE, "src-bucket", "inbox/folder/")


def test_changes_are_new_and_changed_objects_then_vanished_ones():
    known = {"inbox/same.txt": "e1", "inbox/changed.txt": "e2", "inbox/gone.txt": "e3"}
    listing = {"inbox/same.txt": "e1", "inbox/changed.txt": "e9", "inbox/new.txt": "e4"}
    assert changes(listing, known) == [ObjectEvent("created", "", "inbox/changed.txt", "e9"),
                                       ObjectEvent("created", "", "inbox/new.txt", "e4"),
                                       ObjectEvent("deleted", "", "inbox/gone.txt", "e3")]
    assert changes(known, known) == []


def test_eventbridge_s3_events_become_object_events():
    body = {"detail-type": "Object Created", "source": "aws.s3",
            "detail": {"bucket": {"name": "src-bucket"}, "object": {"key": "inbox/a+b.txt", "etag": "abc"}}}
    assert event_from_message(json.dumps(body)) == ObjectEvent("created", "src-bucket", "inbox/a b.txt", "abc")
    body["detail-type"] = "Object Deleted"
    assert event_from_message(json.dumps(body)).kind == "deleted"


def test_anything_else_in_the_queue_is_ignored():
    for body in ("not json", "{}", json.dumps({"detail-type": "Object Restore Completed", "detail": {
            "bucket": {"name": "b"}, "object": {"key": "k"}}})):
        assert event_from_message(body) is None


def test_one_document_id_per_object_version_and_collection():
    repository = RepositoryRecord(repository_id="docs", type="pgvector")
    target = Target(repository, "minilm", PIPELINE)
    assert auto_document_id(target, "inbox/a.txt", "e1") == auto_document_id(target, "inbox/a.txt", "e1")
    assert auto_document_id(target, "inbox/a.txt", "e1") != auto_document_id(target, "inbox/a.txt", "e2")
    assert auto_document_id(target, "inbox/a.txt", "e1") != auto_document_id(Target(repository, "other", PIPELINE),
                                                                               "inbox/a.txt", "e1")


def test_the_rule_matches_the_buckets_created_and_deleted_objects_under_the_prefix():
    assert event_pattern("b", "inbox/") == {"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"],
                                           "detail": {"bucket": {"name": ["b"]}, "object": {"key": [{"prefix": "inbox/"}]}}}


def test_only_the_repositorys_rules_may_send_to_its_queue():
    statement, = queue_policy("arn:aws:sqs:us-east-1:1:q", ["arn:aws:events:us-east-1:1:rule/r"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": ["arn:aws:events:us-east-1:1:rule/r"]}}


def test_a_pipeline_fills_the_collection_it_names_else_its_models_else_the_repositorys_default():
    repository = RepositoryRecord(repository_id="docs", type="pgvector", embedding_model_id="minilm")
    assert pipeline_collection_id(repository, PIPELINE) == "minilm"
    assert pipeline_collection_id(repository, PIPELINE.model_copy(update={"embedding_model": "e5"})) == "e5"
    assert pipeline_collection_id(repository, PIPELINE.model_copy(update={"collection_id": "legal",
                                                                          "embedding_model": "e5"})) == "legal"
    assert pipeline_collection_id(RepositoryRecord(repository_id="bare", type="pgvector"), PIPELINE) is None


def test_a_daily_pipeline_is_listed_once_a_day_an_event_one_every_round():
    assert due("daily", None, 1000.0) and due("daily", 0.0, DAY_S)
    assert not due("daily", 1000.0, 1000.0 + DAY_S - 1)
    assert due("event", 1000.0, 1000.5)


def test_pipelines_watch_only_the_stages_listed_buckets():
    check_pipeline_buckets([PIPELINE], ["src-bucket", "other"])
    check_pipeline_buckets([], [])
    with pytest.raises(InvalidInputError, match="not elsewhere") as refused:
        check_pipeline_buckets([PIPELINE, PipelineConfig(s3_bucket="elsewhere")], ["src-bucket"])
    assert refused.value.param == "pipelines"
    with pytest.raises(InvalidInputError, match="none listed"):
        check_pipeline_buckets([PIPELINE], [])


def test_the_stack_routes_the_event_pipelines_of_the_repository_and_of_its_live_collections():
    from core.rag import CollectionRecord, CollectionStatus
    from services.api.engine.repositories import pipeline_rules

    daily = PipelineConfig(s3_bucket="src-bucket", s3_prefix="daily/", trigger="daily")
    repository = RepositoryRecord(repository_id="docs", type="pgvector", pipelines=[PIPELINE, daily])

    def collection(collection_id: str, *prefixes: str, status=CollectionStatus.ACTIVE) -> CollectionRecord:
        return CollectionRecord(collection_id=collection_id, repository_id="docs", name=collection_id,
                                embedding_model="minilm", status=status,
                                pipelines=[PipelineConfig(s3_bucket="src-bucket", s3_prefix=p) for p in prefixes])

    rules = pipeline_rules(repository, "lisa", "dev", [
        collection("legal", "legal/", "contracts/"), collection("gone", "gone/", status=CollectionStatus.DELETED),
        collection("plain")])
    assert [(r["bucket"], r["prefix"]) for r in rules] == [("src-bucket", "inbox/"), ("src-bucket", "legal/"),
                                                           ("src-bucket", "contracts/")]
    assert len({r["name"] for r in rules}) == 3
    assert pipeline_rules(repository, "lisa", "dev") == rules[:1]  # the repository's own rule keeps its name
