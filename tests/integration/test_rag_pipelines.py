"""Automatic ingestion end to end on the local stack's path: a pipeline on a bucket of the emulator (which delivers no
notifications, so the api's poller lists it every second): an object put is ingested (type `auto`) and searchable,
a changed object is ingested again, a deleted one is gone (autoRemove); a daily pipeline is listed once a day; only
the stage's ragPipelineBuckets may be watched. Then the AWS path: a runtime repository's stack routes its bucket's S3
events through an EventBridge rule to its queue, for its collections' event pipelines too, and the worker applies what
the queue brings."""

from __future__ import annotations

import json

import pytest
import requests

from core import aws, naming
from core.rag import CollectionConfig, PipelineConfig, VectorStoreStatus
from services.rag.pipelines import DAY_S, PipelineWorker, Target
from tests.fixtures.eventually import eventually
from tests.integration.test_rag_ingest import ADMIN

PG = "docs"
BUCKET = "pipeline-source"


@pytest.fixture(scope="module")
def api(api_server, as_user):
    def call(method: str, path: str, who: str = "admin", **kwargs) -> requests.Response:
        return as_user(who).request(method, f"{api_server}{path}", timeout=120, **kwargs)

    return call


@pytest.fixture(scope="module")
def source_bucket(platform) -> str:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture(scope="module")
def watched(api, source_bucket):
    # The default collection exists once something was ingested with its model.
    api("POST", f"/repository/{PG}/document", files={"file": ("seed.txt", b"Seed.")}, data={"embeddingModel": "minilm"})
    response = api("PUT", f"/repository/{PG}", "ragadmin", json={"pipelines": [
        {"s3Bucket": source_bucket, "s3Prefix": "inbox/", "trigger": "event", "autoRemove": True,
         "metadata": {"tags": ["from-pipeline"]}}]})
    assert response.status_code == 200, response.text
    yield source_bucket
    api("PUT", f"/repository/{PG}", "ragadmin", json={"pipelines": []})


def top(api, query: str) -> dict | None:
    docs = api("GET", f"/repository/{PG}/similaritySearch", "alice",
               params={"query": query, "topK": 1, "filter": json.dumps({"tags": ["from-pipeline"]})}).json()["docs"]
    return docs[0]["Document"] if docs else None


def auto_document(api, name: str) -> dict | None:
    page = api("GET", f"/repository/{PG}/document", params={"collectionId": "minilm", "pageSize": 100}).json()
    return next((d for d in page["documents"] if d["document_name"] == name and d["ingestion_type"] == "auto"), None)


def test_a_put_object_is_ingested_a_changed_one_again_and_a_deleted_one_removed(api, watched):
    s3 = aws.client("s3")
    s3.put_object(Bucket=watched, Key="inbox/comets.txt", Body=b"Comets grow tails of gas and dust near the sun.")
    s3.put_object(Bucket=watched, Key="elsewhere/ignored.txt", Body=b"Not under the prefix.")
    eventually(lambda: (top(api, "comet tails") or {}).get("metadata", {}).get("documentName") == "comets.txt", 60,
               "the put object searchable")
    doc = auto_document(api, "comets.txt")
    assert doc["source"] == f"s3://{watched}/inbox/comets.txt" and doc["metadata"]["tags"] == ["from-pipeline"]
    assert auto_document(api, "ignored.txt") is None

    s3.put_object(Bucket=watched, Key="inbox/comets.txt", Body=b"Comets are icy bodies from the Oort cloud.")
    eventually(lambda: "Oort" in ((top(api, "comets") or {}).get("page_content", "")), 60, "the changed object")
    versions = [d for d in api("GET", f"/repository/{PG}/document", params={"pageSize": 100}).json()["documents"]
                if d["document_name"] == "comets.txt"]
    assert len(versions) == 1  # the old version went

    s3.delete_object(Bucket=watched, Key="inbox/comets.txt")
    eventually(lambda: auto_document(api, "comets.txt") is None and top(api, "comets") is None, 60,
               "the deleted object's document removed")


def test_a_rag_admin_may_change_pipelines_but_not_groups(api):
    assert api("PUT", f"/repository/{PG}", "ragadmin", json={"allowedGroups": ["x"]}).status_code == 403
    assert api("PUT", f"/repository/{PG}", "alice", json={"pipelines": []}).status_code == 403


def test_a_pipeline_on_a_bucket_the_stage_does_not_list_is_refused(api):
    response = api("PUT", f"/repository/{PG}", "ragadmin", json={"pipelines": [{"s3Bucket": "someone-elses"}]})
    assert response.status_code == 400 and "someone-elses" in response.json()["message"]
    response = api("POST", f"/repository/{PG}/collection", "ragadmin", json={
        "name": "elsewhere", "embeddingModel": "minilm", "pipelines": [{"s3Bucket": "someone-elses"}]})
    assert response.status_code == 400
    assert api("POST", "/repository", json={"repositoryId": "refused", "type": "pgvector", "pipelines": [
        {"s3Bucket": "someone-elses"}]}).status_code == 400


def _collection(rag_service, repository_id: str, collection_id: str):
    repository = rag_service.catalog.find(repository_id)
    if rag_service.catalog.find_collection(repository, collection_id) is None:
        rag_service.create_collection(ADMIN, repository_id, CollectionConfig(collection_id=collection_id,
                                                                             embedding_model="minilm"))
    return repository


def test_a_daily_pipeline_is_listed_once_a_day(rag_service, source_bucket):
    repository = _collection(rag_service, "docs-os", "daily")
    pipeline = PipelineConfig(s3_bucket=source_bucket, s3_prefix="daily/", trigger="daily",
                              chunking_strategy={"type": "none"})
    worker = PipelineWorker(rag_service, mode="scan")
    worker.targets = lambda: [Target(repository, "daily", pipeline)]  # this pipeline only
    s3 = aws.client("s3")
    s3.put_object(Bucket=source_bucket, Key="daily/first.txt", Body=b"The first report of the day.")
    assert worker.sweep(now=1_000_000.0) == {"ingested": 1}
    s3.put_object(Bucket=source_bucket, Key="daily/second.txt", Body=b"A report put an hour later.")
    assert worker.sweep(now=1_000_000.0 + 3600) == {}  # not due: nothing listed
    assert worker.sweep(now=1_000_000.0 + DAY_S) == {"ingested": 1}
    documents = sorted(rag_service.table.in_collection("docs-os", "daily"), key=lambda d: d.document_name)
    assert [(d.document_name, d.ingestion_type, d.chunk_strategy.type) for d in documents] == [
        ("first.txt", "auto", "none"), ("second.txt", "auto", "none")]
    assert worker.sweep(now=1_000_000.0 + 2 * DAY_S) == {}  # nothing changed since


def settled(api, repository_id: str, timeout: float = 240) -> dict:
    return eventually(lambda: (lambda r: r if not r["status"].endswith("_IN_PROGRESS") else None)(
        api("GET", f"/repository/{repository_id}").json()), timeout, f"{repository_id}'s stack settling")


def routed(outputs, rule: str) -> tuple[dict, str]:
    """A rule's event pattern and the ARN it sends to."""
    pattern = json.loads(aws.client("events").describe_rule(Name=rule)["EventPattern"])
    target, = aws.client("events").list_targets_by_rule(Rule=rule)["Targets"]
    return pattern["detail"], target["Arn"]


@pytest.fixture(scope="module")
def piped(api, platform, source_bucket):
    """A runtime repository with an event pipeline; its queue's URL."""
    outputs, _ = platform
    created = api("POST", "/repository", json={
        "repositoryId": "piped", "type": "pgvector", "embeddingModelId": "minilm",
        "pipelines": [{"s3Bucket": source_bucket, "s3Prefix": "piped/", "trigger": "event"}]})
    assert created.status_code == 200, created.text
    record = settled(api, "piped")
    assert record["status"] == "CREATE_COMPLETE", record.get("statusReason")
    return aws.client("sqs").get_queue_url(QueueName=naming.pipeline_queue(
        outputs.deployment_name, outputs.deployment_stage, "piped"))["QueueUrl"]


def test_a_runtime_repositorys_stack_routes_its_buckets_events_to_its_queue(piped, platform, source_bucket):
    outputs, _ = platform
    queue = naming.pipeline_queue(outputs.deployment_name, outputs.deployment_stage, "piped")
    detail, target = routed(outputs, naming.pipeline_rule(outputs.deployment_name, outputs.deployment_stage, "piped", 0))
    assert detail == {"bucket": {"name": [source_bucket]}, "object": {"key": [{"prefix": "piped/"}]}}
    assert target.endswith(f":{queue}")
    # (The bucket's EventBridge switch is set too; the emulator accepts it but does not report it back.)


def test_a_collections_event_pipeline_is_routed_by_its_repositorys_stack(api, piped, platform, source_bucket,
                                                                         rag_service):
    outputs, _ = platform
    rule = naming.collection_pipeline_rule(outputs.deployment_name, outputs.deployment_stage, "piped", "legal", 0)
    created = api("POST", "/repository/piped/collection", json={
        "collectionId": "legal", "embeddingModel": "minilm",
        "pipelines": [{"s3Bucket": source_bucket, "s3Prefix": "legal/", "trigger": "event"}]})
    assert created.status_code == 200, created.text
    record = settled(api, "piped")
    assert record["status"] == "UPDATE_COMPLETE", record.get("statusReason")
    detail, target = routed(outputs, rule)
    assert detail == {"bucket": {"name": [source_bucket]}, "object": {"key": [{"prefix": "legal/"}]}}
    assert target.endswith(":" + naming.pipeline_queue(outputs.deployment_name, outputs.deployment_stage, "piped"))

    # The emulator delivers the bucket's event through the rule to the queue; the worker applies it to the collection.
    rag_service.catalog.changed()
    worker = PipelineWorker(rag_service, mode="queue")
    target, = [t for t in worker.targets() if t.collection_id == "legal"]
    assert target.wired  # in AWS no listing: the queue brings its events
    aws.client("s3").put_object(Bucket=source_bucket, Key="legal/lease.txt", Body=b"The lease runs for five years.")
    eventually(lambda: worker.drain(piped, "piped", wait_s=1), 60, "the object's event through the rule and queue")
    assert [(d.document_name, d.ingestion_type) for d in rag_service.table.in_collection("piped", "legal")] == [
        ("lease.txt", "auto")]

    assert api("DELETE", "/repository/piped/collection/legal").status_code == 200
    assert settled(api, "piped")["status"] == "UPDATE_COMPLETE"
    with pytest.raises(aws.client("events").exceptions.ResourceNotFoundException):
        aws.client("events").describe_rule(Name=rule)


def test_a_collections_event_pipeline_waits_for_its_repositorys_stack(api, piped, platform, source_bucket):
    """While the stack is being changed, a collection change that would alter its routing is a 409 and writes
    nothing; one that does not is made at once."""
    from services.rag.records import RepositoryTable

    table = RepositoryTable(platform[0].tables.rag_repositories)
    record = table.get("piped")
    table.save(record.model_copy(update={"status": VectorStoreStatus.UPDATE_IN_PROGRESS}))  # another process's update
    try:
        refused = api("POST", "/repository/piped/collection", json={
            "collectionId": "late", "embeddingModel": "minilm",
            "pipelines": [{"s3Bucket": source_bucket, "s3Prefix": "late/", "trigger": "event"}]})
        daily = api("POST", "/repository/piped/collection", json={
            "collectionId": "nightly", "embeddingModel": "minilm",
            "pipelines": [{"s3Bucket": source_bucket, "s3Prefix": "nightly/", "trigger": "daily"}]})
    finally:
        table.save(table.get("piped").model_copy(update={"status": VectorStoreStatus.UPDATE_COMPLETE}))
    assert refused.status_code == 409 and "UPDATE_IN_PROGRESS" in refused.json()["message"]
    assert api("GET", "/repository/piped/collection/late").status_code == 404
    assert daily.status_code == 200, daily.text


def test_deleting_a_runtime_repository_destroys_its_queue_and_rules(api, piped):
    assert api("DELETE", "/repository/piped").status_code == 200
    eventually(lambda: api("GET", "/repository/piped").status_code == 404, 240, "the stack destroyed")
    with pytest.raises(Exception):
        aws.client("sqs").get_queue_attributes(QueueUrl=piped, AttributeNames=["QueueArn"])


def test_the_worker_applies_what_the_queue_brings(rag_service, source_bucket):
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="pipeline-drain-test")["QueueUrl"]
    s3 = aws.client("s3")
    s3.put_object(Bucket=source_bucket, Key="queued/tides.txt", Body=b"Tides follow the moon.")
    etag = s3.head_object(Bucket=source_bucket, Key="queued/tides.txt")["ETag"].strip('"')
    message = {"detail-type": "Object Created", "source": "aws.s3", "detail": {
        "bucket": {"name": source_bucket}, "object": {"key": "queued/tides.txt", "etag": etag}}}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
    repository = _collection(rag_service, "docs-os", "queued")
    worker = PipelineWorker(rag_service, mode="queue")
    target = Target(repository, "queued", PipelineConfig(s3_bucket=source_bucket, s3_prefix="queued/"))
    worker.targets = lambda: [target]  # this repository's pipeline only
    assert worker.drain(url, "docs-os", wait_s=0) == 1
    documents = rag_service.table.in_collection("docs-os", "queued")
    assert [(d.document_name, d.ingestion_type) for d in documents] == [("tides.txt", "auto")]
    assert worker.drain(url, "docs-os", wait_s=0) == 0  # the message was deleted
    message["detail-type"] = "Object Deleted"
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
    assert worker.drain(url, "docs-os", wait_s=0) == 1
    assert rag_service.table.in_collection("docs-os", "queued") == []
