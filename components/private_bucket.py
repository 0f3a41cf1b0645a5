"""PrivateBucket: an S3 bucket nobody reaches except through IAM, over TLS, encrypted, with its access logged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import iam_policies


@dataclass(frozen=True)
class PrivateBucketArgs:
    bucket_name: pulumi.Input[str]
    # None → SSE-S3. Log-delivery targets and CloudFront origins need SSE-S3; data buckets use the stage's KMS key.
    kms_key_arn: pulumi.Input[str] | None
    access_logs_bucket: pulumi.Input[str] | None  # None only for the access-logs bucket itself
    versioned: bool = False
    force_destroy: bool = False
    expire_after_days: int | None = None
    # Objects under these key prefixes expire after the given days (e.g. uploads nobody ingested).
    expire_prefixes: Mapping[str, int] = field(default_factory=dict)
    noncurrent_versions_expire_after_days: int | None = 30
    # Extra statements for the bucket policy (the TLS-only deny is always there).
    policy_statements: pulumi.Input[Sequence[Mapping[str, Any]]] = ()
    # False when the caller writes the policy itself (it needs an ARN that exists only after this bucket).
    attach_policy: bool = True

    def __post_init__(self) -> None:
        if self.expire_after_days is not None and self.expire_after_days < 1:
            raise ValueError("expire_after_days must be at least 1")
        if any(days < 1 for days in self.expire_prefixes.values()):
            raise ValueError("expire_prefixes: days must be at least 1")


class PrivateBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket=args.bucket_name, force_destroy=args.force_destroy,
                                    opts=child)
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(  # ACLs off: the bucket owner owns every object, access is IAM only
            f"{name}-ownership", bucket=bucket_id,
            rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=bucket_id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket_id, rules=[_encryption_rule(args.kms_key_arn)], opts=child)
        if args.versioned:
            aws.s3.BucketVersioning(
                f"{name}-versioning", bucket=bucket_id,
                versioning_configuration={"status": "Enabled"}, opts=child)
        if args.access_logs_bucket is not None:
            aws.s3.BucketLogging(f"{name}-logging", bucket=bucket_id, target_bucket=args.access_logs_bucket,
                                 target_prefix=self.bucket.bucket.apply(lambda b: f"s3/{b}/"), opts=child)
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket_id, rules=_lifecycle_rules(args),
                                            opts=child)
        if args.attach_policy:
            policy = pulumi.Output.all(self.bucket.arn, pulumi.Output.from_input(args.policy_statements)).apply(
                lambda v: iam_policies.to_json(iam_policies.bucket_policy(v[0], v[1] or [])))
            aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket_id, policy=policy,
                                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]))
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


def _encryption_rule(kms_key_arn: pulumi.Input[str] | None) -> dict:
    if kms_key_arn is None:
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    # The bucket key cuts KMS calls (and cost) by two orders of magnitude for busy buckets.
    return {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn},
            "bucket_key_enabled": True}


def _lifecycle_rules(args: PrivateBucketArgs) -> list[dict]:
    everything = {"prefix": ""}
    rules = [{"id": "abort-incomplete-uploads", "status": "Enabled", "filter": everything,
              "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}]
    if args.expire_after_days is not None:
        rules.append({"id": "expire", "status": "Enabled", "filter": everything,
                      "expiration": {"days": args.expire_after_days}})
    for i, (prefix, days) in enumerate(sorted(args.expire_prefixes.items())):
        rules.append({"id": f"expire-prefix-{i}", "status": "Enabled", "filter": {"prefix": prefix},
                      "expiration": {"days": days}})
    if args.versioned and args.noncurrent_versions_expire_after_days is not None:
        rules.append({"id": "expire-noncurrent", "status": "Enabled", "filter": everything,
                      "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_versions_expire_after_days}})
    return rules
