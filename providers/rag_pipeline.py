"""A repository's event pipelines in AWS, as one Pulumi dynamic resource of its stack: the S3 buckets it watches send
their events to EventBridge, one rule per pipeline (bucket + prefix, objects created or deleted) forwards them to the
repository's SQS queue (encrypted, only EventBridge's rules of this repository may send), which the api's ingest
worker drains (services/rag/pipelines.py).

A bucket's EventBridge delivery is switched on and left on at delete: other consumers may rely on it.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi import ResourceOptions
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from core import aws
from providers.inputs import same
from providers.provider_process import FollowingProvider


def event_pattern(bucket: str, prefix: str) -> dict[str, Any]:
    key = {"prefix": prefix} if prefix else {"exists": True}
    return {"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"],
            "detail": {"bucket": {"name": [bucket]}, "object": {"key": [key]}}}


def queue_policy(queue_arn: str, rule_arns: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "FromThisRepositorysRules", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}}}]}


def _enable_eventbridge(bucket: str) -> None:
    s3 = aws.client("s3")
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    if "EventBridgeConfiguration" not in current:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            **current, "EventBridgeConfiguration": {}})


def _apply(props: dict[str, Any]) -> dict[str, Any]:
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName=props["queueName"], Attributes={
        "SqsManagedSseEnabled": "true", "MessageRetentionPeriod": str(4 * 24 * 3600)})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule_arns = []
    for rule in props["rules"]:
        _enable_eventbridge(rule["bucket"])
        arn = events.put_rule(Name=rule["name"], EventPattern=json.dumps(event_pattern(rule["bucket"], rule["prefix"])),
                              State="ENABLED", Description=f"RAG pipeline: {rule['bucket']}/{rule['prefix']}")["RuleArn"]
        events.put_targets(Rule=rule["name"], Targets=[{"Id": "queue", "Arn": queue_arn}])
        rule_arns.append(arn)
    if rule_arns:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy(queue_arn, rule_arns))})
    return {**props, "queueUrl": url, "queueArn": queue_arn}


def _delete_rules(names: list[str]) -> None:
    events = aws.client("events")
    for name in names:
        try:
            events.remove_targets(Rule=name, Ids=["queue"])
            events.delete_rule(Name=name)
        except events.exceptions.ResourceNotFoundException:
            pass


class PipelineEventsProvider(FollowingProvider):
    serialize_as_secret_always = False

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if not same(olds, news, "queueName"):
            return DiffResult(changes=True, replaces=["queueName"], delete_before_replace=True)
        return DiffResult(changes=not same(olds, news, "rules"), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        outputs = _apply(props)
        return CreateResult(outputs["queueUrl"], outputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        kept = {r["name"] for r in news["rules"]}
        _delete_rules([r["name"] for r in olds.get("rules", []) if r["name"] not in kept])
        return UpdateResult(_apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sqs = aws.client("sqs")
        try:
            sqs.get_queue_attributes(QueueUrl=id_, AttributeNames=["QueueArn"])
        except sqs.exceptions.QueueDoesNotExist:
            return ReadResult(None, {})
        return ReadResult(id_, props)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _delete_rules([r["name"] for r in props.get("rules", [])])
        sqs = aws.client("sqs")
        try:
            sqs.delete_queue(QueueUrl=id_)
        except sqs.exceptions.QueueDoesNotExist:
            pass


class PipelineEvents(Resource, module="lisa", name="PipelineEvents"):
    queueUrl: str  # noqa: N815 (the provider's output name)

    def __init__(self, name: str, *, queue_name: str, rules: list[dict[str, str]],
                 opts: ResourceOptions | None = None) -> None:
        super().__init__(PipelineEventsProvider(), name, {"queueName": queue_name, "rules": rules, "queueUrl": None,
                                                          "queueArn": None}, opts)
