"""DataStores: the stage's KMS key, the DynamoDB tables, the S3 buckets and the LiteLLM master-key secret."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pydantic import SecretStr

from components import iam_policies
from components.private_bucket import PrivateBucket, PrivateBucketArgs
from components.stage_context import StageContext
from core import naming
from core.tables import TABLES

ACCESS_LOG_DAYS = 90


# Presigned uploads that were never ingested (a refused or abandoned upload) are gone after a day.
EXPIRING_PREFIXES = {"ragDocuments": {"uploads/": 1}}


@dataclass(frozen=True)

class DataStoresArgs:
    context: StageContext
    master_key: SecretStr

    def __post_init__(self) -> None:
        if not self.master_key.get_secret_value().startswith("sk-"):
            raise ValueError("the LiteLLM master key must start with 'sk-'")


class DataStores(pulumi.ComponentResource):
    kms_key_arn: pulumi.Output[str]
    kms_key_alias: str
    table_names: dict[str, pulumi.Output[str]]  # keyed like core.platform.Tables
    table_arns: dict[str, pulumi.Output[str]]
    bucket_names: dict[str, pulumi.Output[str]]  # keyed like core.platform.Buckets (without web)
    bucket_arns: dict[str, pulumi.Output[str]]
    access_logs_bucket: pulumi.Output[str]
    master_key_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DataStoresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:DataStores", name, None, opts)
        self._name, self._ctx = name, args.context
        key = aws.kms.Key(f"{name}-key", description=f"LISA {self._ctx.prefix}: tables, buckets, secrets, RAG stores",
                          enable_key_rotation=True, deletion_window_in_days=30 if self._ctx.retain else 7,
                          opts=self._opts())
        self.kms_key_alias = naming.stage_key_alias(self._ctx.deployment, self._ctx.stage_name)
        aws.kms.Alias(f"{name}-key-alias", name=self.kms_key_alias, target_key_id=key.key_id, opts=self._opts())
        self.kms_key_arn = key.arn
        self._tables()
        self._buckets()
        self._master_key(args.master_key)
        self.register_outputs({
            "kmsKeyArn": self.kms_key_arn,
            "tables": self.table_names,
            "buckets": self.bucket_names,
            "accessLogsBucket": self.access_logs_bucket,
            "masterKeySecretArn": self.master_key_secret_arn,
        })

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _tables(self) -> None:
        ctx = self._ctx
        self.table_names, self.table_arns = {}, {}
        for spec in TABLES:
            table = aws.dynamodb.Table(
                f"{self._name}-{spec.key}",
                name=spec.name(ctx.deployment, ctx.stage_name),
                billing_mode="PAY_PER_REQUEST",
                hash_key=spec.hash_key,
                range_key=spec.range_key,
                attributes=[{"name": a["AttributeName"], "type": a["AttributeType"]}
                            for a in spec.attribute_definitions()],
                server_side_encryption={"enabled": True, "kms_key_arn": self.kms_key_arn},
                point_in_time_recovery={"enabled": True},
                deletion_protection_enabled=ctx.retain,
                ttl={"attribute_name": spec.ttl_attribute, "enabled": True} if spec.ttl_attribute else None,
                global_secondary_indexes=[{"name": i.name, "hash_key": i.hash_key, "range_key": i.range_key,
                                           "projection_type": "ALL"} for i in spec.indexes] or None,
                opts=self._opts(),
            )
            self.table_names[spec.key] = table.name
            self.table_arns[spec.key] = table.arn

    def _bucket(self, purpose: str, bucket_name, **kwargs) -> PrivateBucket:
        return PrivateBucket(f"{self._name}-{purpose}", PrivateBucketArgs(
            bucket_name=bucket_name, force_destroy=not self._ctx.retain, **kwargs), opts=self._opts())

    def _buckets(self) -> None:
        ctx = self._ctx
        d, s = ctx.deployment, ctx.stage_name

        def name_of(fn):
            return pulumi.Output.from_input(ctx.account_id).apply(lambda account: fn(d, s, account))

        # S3 delivers access logs with its logging principal, for this stage's buckets (named <prefix>-…) only.
        own_buckets = f"arn:{ctx.partition}:s3:::{ctx.prefix}-*"
        logs = PrivateBucket(f"{self._name}-access-logs", PrivateBucketArgs(
            bucket_name=name_of(naming.access_logs_bucket), kms_key_arn=None, access_logs_bucket=None,
            force_destroy=not ctx.retain, expire_after_days=ACCESS_LOG_DAYS,
            policy_statements=pulumi.Output.all(name_of(naming.access_logs_bucket), ctx.account_id).apply(
                lambda v: [iam_policies.access_log_delivery(f"arn:{ctx.partition}:s3:::{v[0]}", v[1], [own_buckets])]),
        ), opts=self._opts())
        self.access_logs_bucket = logs.name
        data = {
            "models": (naming.models_bucket, False),
            "ragDocuments": (naming.rag_bucket, False),
            "deploymentState": (naming.state_bucket, True),  # versioned: a bad write to a stack's state is undoable
            "sessions": (naming.sessions_bucket, False),  # session bodies past a DynamoDB item, attached images
        }
        self.bucket_names, self.bucket_arns = {}, {}
        for key, (fn, versioned) in data.items():
            bucket = self._bucket(key, name_of(fn), kms_key_arn=self.kms_key_arn, access_logs_bucket=logs.name,
                                  versioned=versioned, expire_prefixes=EXPIRING_PREFIXES.get(key, {}))
            self.bucket_names[key] = bucket.name
            self.bucket_arns[key] = bucket.arn

    def _master_key(self, master_key: SecretStr) -> None:
        ctx = self._ctx
        secret = aws.secretsmanager.Secret(
            f"{self._name}-master-key", name=naming.master_key_secret(ctx.deployment, ctx.stage_name),
            description="LiteLLM master key (admin credential of the serve API)", kms_key_id=self.kms_key_arn,
            recovery_window_in_days=30 if ctx.retain else 0, opts=self._opts())
        aws.secretsmanager.SecretVersion(
            f"{self._name}-master-key-value", secret_id=secret.id,
            secret_string=pulumi.Output.secret(master_key.get_secret_value()), opts=self._opts())
        self.master_key_secret_arn = secret.arn
