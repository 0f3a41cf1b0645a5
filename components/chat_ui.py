"""ChatUi: the built web UI in a private S3 bucket, served by CloudFront through origin access control.

The runtime config (/config.json) is published after Auth exists (`publish_runtime_config`, which every program
must call): the Cognito client needs this distribution's URL as its redirect target, and config.json needs the
client id. Likewise the security headers CloudFront adds: their CSP names the URLs the UI calls, which exist only
after this distribution (`allow_requests_to`, which every program must call too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import iam_policies, web_assets
from components.private_bucket import PrivateBucket, PrivateBucketArgs
from components.stage_context import StageContext
from components.web_config import WebRuntimeConfig

# AWS managed CloudFront policies (fixed ids, the same in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ORIGIN_ID = "web-bucket"


@dataclass(frozen=True)
class ChatUiArgs:
    context: StageContext
    bucket_name: pulumi.Input[str]
    access_logs_bucket: pulumi.Input[str]
    assets_dir: Path | None  # the built UI (web/dist); None or missing: bucket and distribution only

    def __post_init__(self) -> None:
        if self.assets_dir is not None and self.assets_dir.exists() and not self.assets_dir.is_dir():
            raise ValueError(f"{self.assets_dir} is not a directory")


class ChatUi(pulumi.ComponentResource):
    url: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    asset_count: int

    def __init__(self, name: str, args: ChatUiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:ChatUi", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        # SSE-S3, not KMS: CloudFront's origin access control reads objects without a KMS grant.
        site = PrivateBucket(f"{name}-site", PrivateBucketArgs(
            bucket_name=args.bucket_name, kms_key_arn=None, access_logs_bucket=args.access_logs_bucket,
            force_destroy=True, attach_policy=False), opts=child)
        # Known only once serve, the api and auth exist, which come after this distribution: see publish_runtime_config.
        connect, self._resolve_connect = pulumi.deferred_output()
        headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers", name=f"{args.context.prefix}-web-security-headers",
            comment="LISA chat UI: CSP, nosniff, no framing, HSTS",
            security_headers_config=connect.apply(web_assets.cloudfront_security_headers), opts=child)
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac", name=f"{args.context.prefix}-web", description="LISA chat UI bucket",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4", opts=child)
        distribution = aws.cloudfront.Distribution(
            f"{name}-cdn", enabled=True, comment=f"LISA {args.context.prefix} chat UI",
            default_root_object="index.html",
            is_ipv6_enabled=True, http_version="http2and3", price_class="PriceClass_100", wait_for_deployment=False,
            origins=[{"origin_id": ORIGIN_ID, "domain_name": site.bucket.bucket_regional_domain_name,
                      "origin_access_control_id": oac.id}],
            default_cache_behavior={
                "target_origin_id": ORIGIN_ID, "viewer_protocol_policy": "redirect-to-https", "compress": True,
                "allowed_methods": ["GET", "HEAD", "OPTIONS"], "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CACHING_OPTIMIZED, "response_headers_policy_id": headers.id},
            ordered_cache_behaviors=[{
                "path_pattern": f"/{web_assets.RUNTIME_CONFIG_KEY}", "target_origin_id": ORIGIN_ID,
                "viewer_protocol_policy": "redirect-to-https", "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"], "cache_policy_id": CACHING_DISABLED,
                "response_headers_policy_id": headers.id}],
            # A single-page app: unknown paths are client-side routes, answered with index.html.
            custom_error_responses=[{"error_code": code, "response_code": 200, "response_page_path": "/index.html"}
                                    for code in (403, 404)],
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True},
            opts=child)
        aws.s3.BucketPolicy(
            f"{name}-site-policy", bucket=site.bucket.id,
            policy=pulumi.Output.all(site.arn, distribution.arn).apply(lambda v: iam_policies.to_json(
                iam_policies.bucket_policy(v[0], [iam_policies.cloudfront_read(v[0], v[1])]))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[site.public_access_block]))
        assets = web_assets.plan_assets(args.assets_dir)
        for asset in assets:
            aws.s3.BucketObjectv2(f"{name}-asset-{asset.key}", bucket=site.bucket.id, key=asset.key,
                                  source=pulumi.FileAsset(str(asset.path)), content_type=asset.content_type,
                                  cache_control=asset.cache_control, opts=child)
        self._bucket_id = site.bucket.id
        self.asset_count = len(assets)
        self.bucket_name = site.name
        self.distribution_id, self.distribution_arn = distribution.id, distribution.arn
        self.url = distribution.domain_name.apply(lambda d: f"https://{d}")
        self.register_outputs({"url": self.url, "bucketName": self.bucket_name, "distributionId": self.distribution_id})

    def allow_requests_to(self, *urls: pulumi.Input[str | None]) -> None:
        """The only places the UI may send requests (its CSP's connect-src): serve, the api, the IdP. None of them
        may depend on this distribution (the Cognito client does: pass the pool's authority, not the client)."""
        self._resolve_connect(pulumi.Output.all(*urls).apply(web_assets.connect_sources))

    def publish_runtime_config(self, config: pulumi.Output[WebRuntimeConfig]) -> aws.s3.BucketObjectv2:
        """config.json for the UI, cached by nobody."""
        return aws.s3.BucketObjectv2(
            f"{self._name}-runtime-config", bucket=self._bucket_id, key=web_assets.RUNTIME_CONFIG_KEY,
            content=config.apply(lambda c: c.model_dump_json(indent=2)),
            content_type="application/json", cache_control="no-store", opts=pulumi.ResourceOptions(parent=self))
