"""The core stack (`pulumi up -s <stage>`): validate the stage config, compose the components, export `platform`.

Nothing is registered until the whole stage config is valid; an invalid one stops the run with one line per
problem. The `platform` output is core.platform.PlatformOutputs: the one object the apps and model stacks read.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime.config import CONFIG

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # `pulumi up` runs from the project directory; importing from elsewhere must work too
    sys.path.insert(0, str(ROOT))

from components import iam_policies  # noqa: E402
from components.app_image import AppImage, AppImageArgs  # noqa: E402
from components.auth import Auth, AuthArgs  # noqa: E402
from components.chat_ui import ChatUi, ChatUiArgs  # noqa: E402
from components.control_plane import ControlPlane, ControlPlaneArgs  # noqa: E402
from components.data_stores import DataStores, DataStoresArgs  # noqa: E402
from components.https_service import AppServiceArgs  # noqa: E402
from components.model_hosting import ModelHosting, ModelHostingArgs  # noqa: E402
from components.network import Network, NetworkArgs  # noqa: E402
from components.platform_document import holds_secrets, platform_document  # noqa: E402
from components.rag_stores import RagStores, RagStoresArgs  # noqa: E402
from components.serve_cluster import ServeCluster, ServeClusterArgs  # noqa: E402
from components.stage_context import StageContext  # noqa: E402
from components.web_config import WebRuntimeConfig  # noqa: E402
from core import naming  # noqa: E402
from core.config import StageConfig, config_from_pulumi_values, parse_stage_config  # noqa: E402
from core.errors import ConfigError  # noqa: E402
from core.platform import AuthOutputs  # noqa: E402

Output = pulumi.Output


def read_stage_config() -> StageConfig:
    """The `lisa:*` config of the stack, validated; a pulumi.RunError (no traceback) listing every problem."""
    values = {**pulumi.runtime.get_config_env(), **CONFIG.get()}
    try:
        return parse_stage_config(config_from_pulumi_values(values))
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None


def assets_dir(config: StageConfig) -> Path | None:
    if config.web_app_assets_path is None:
        return None
    path = Path(config.web_app_assets_path)
    return path if path.is_absolute() else ROOT / path


def compose(config: StageConfig) -> dict[str, Any]:
    """Every component of the stage, wired together; returns the stack outputs."""
    provider = aws.Provider(
        "aws", region=config.region, default_tags={"tags": config.all_tags},
        # A stage pinned to an account refuses to deploy anywhere else (prod into a dev account, say).
        allowed_account_ids=[config.account_number] if config.account_number else None)
    opts = pulumi.ResourceOptions(providers=[provider])
    account_id = Output.from_input(config.account_number) if config.account_number else \
        aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    ctx = StageContext(config.deployment_name, config.deployment_stage, config.region, account_id,
                       config.removal_policy)
    d, s = ctx.deployment, ctx.stage_name

    network = Network("network", NetworkArgs(ctx, config.vpc), opts)
    app_sgs = (network.serve_tasks_security_group_id, network.api_tasks_security_group_id)
    data = DataStores("data", DataStoresArgs(ctx, config.litellm_config.general_settings.master_key), opts)
    web = ChatUi("web", ChatUiArgs(
        ctx, bucket_name=account_id.apply(lambda a: naming.web_bucket(d, s, a)),
        access_logs_bucket=data.access_logs_bucket, assets_dir=assets_dir(config)), opts)
    auth = Auth("auth", AuthArgs(ctx, config.auth_config, web_url=web.url), opts)
    hosting = ModelHosting("model-hosting", ModelHostingArgs(
        ctx, vpc_id=network.vpc_id, private_subnet_ids=network.private_subnet_ids, client_security_group_ids=app_sgs,
        models_bucket_arn=data.bucket_arns["models"], kms_key_arn=data.kms_key_arn,
        models_table_arn=data.table_arns["models"], image_repositories=tuple(config.model_image_repositories)), opts)
    rag = RagStores("rag", RagStoresArgs(
        ctx, repositories=tuple(config.rag_repositories), vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids, client_security_group_ids=app_sgs,
        kms_key_arn=data.kms_key_arn,
        admin_role_arn=account_id.apply(
            lambda a: f"arn:{ctx.partition}:iam::{a}:role/{naming.app_task_role(d, s, 'api')}")), opts)
    image = AppImage("app-image", AppImageArgs(ctx, config.serve_config.image, build_context=ROOT,
                                               dockerfile=ROOT / "services" / "Dockerfile"), opts)

    resolved = dict(account_id=account_id, tables=Output.all(**data.table_names),
                    buckets=Output.all(**data.bucket_names, web=web.bucket_name),
                    master_key_secret_id=data.master_key_secret_arn, auth=auth.outputs,
                    model_hosting=hosting.outputs, rag_stores=rag.outputs)

    def document(**urls: Output[str]) -> Output[dict]:
        """The platform outputs (as far as they exist yet: each app's document holds the URLs made before it)."""
        return Output.all(**resolved, **urls).apply(lambda v: platform_document(config, **v))

    serve_service = AppServiceArgs(
        ctx, certificate=config.certificate, vpc_id=network.vpc_id,
        alb_subnet_ids=network.public_subnet_ids if network.internet_facing else network.private_subnet_ids,
        private_subnet_ids=network.private_subnet_ids, internet_facing=network.internet_facing,
        alb_security_group_id=network.public_alb_security_group_id,
        task_security_group_id=network.serve_tasks_security_group_id, image=image.image_ref,
        ecr_repository_arns=image.repository_arns, kms_key_arn=data.kms_key_arn, platform=document(),
        web_url=web.url, log_level=config.log_level)
    serve = ServeCluster("serve", ServeClusterArgs(
        serve_service, serve=config.serve_config, grants=_serve_grants(ctx, data)), opts)
    api_service = dataclasses.replace(serve_service, task_security_group_id=network.api_tasks_security_group_id,
                                      platform=document(serve_url=serve.url))
    api = ControlPlane("api", ControlPlaneArgs(
        api_service, sizing=config.serve_config, cluster_arn=serve.cluster_arn, kms_key_alias=data.kms_key_alias,
        grants=_control_plane_grants(ctx, data, hosting, rag, network, config.rag_pipeline_buckets)), opts)
    web.publish_runtime_config(Output.all(serve_url=serve.url, api_url=api.url, auth=auth.outputs).apply(
        lambda v: WebRuntimeConfig.build(serve_origin=v["serve_url"], api_url=v["api_url"],
                                         auth=AuthOutputs.model_validate(v["auth"]))))
    # The IdP: its authority and, for Cognito, the hosted UI domain its token endpoint is on.
    web.allow_requests_to(serve.url, api.url, auth.authority, auth.hosted_ui_domain)

    platform = document(serve_url=serve.url, api_url=api.url, web_url=web.url)
    return {
        # Static models' litellm_params may carry API keys: then the whole object is a secret in the state.
        "platform": Output.secret(platform) if holds_secrets(config) else platform,
        "serveUrl": serve.url,
        "openAiBaseUrl": serve.url.apply(lambda u: f"{u}/v2/serve"),
        "apiUrl": api.url,
        "webUrl": web.url,
        "modelStacksBackendUrl": platform.apply(lambda p: p["stateBackendUrl"]),
        "userPoolId": auth.user_pool_id,
    }


def _serve_grants(ctx: StageContext, data: DataStores) -> Output[iam_policies.ServeGrants]:
    arns = data.table_arns
    return Output.all(models=arns["models"], tokens=arns["tokens"], master=data.master_key_secret_arn,
                      kms=data.kms_key_arn, usage=arns["usage"], audit=arns["audit"],
                      rate_limits=arns["rateLimits"]).apply(lambda v: iam_policies.ServeGrants(
                          models_table_arn=v["models"], tokens_table_arn=v["tokens"], master_key_secret_arn=v["master"],
                          kms_key_arn=v["kms"], usage_table_arn=v["usage"], audit_table_arn=v["audit"],
                          rate_limits_table_arn=v["rate_limits"],
                          model_secret_prefix=naming.model_api_key_secret_prefix(ctx.deployment, ctx.stage_name)))


def _control_plane_grants(ctx: StageContext, data: DataStores, hosting: ModelHosting, rag: RagStores,
                          network: Network, pipeline_buckets: list[str]) -> Output[iam_policies.ControlPlaneGrants]:
    d, s = ctx.deployment, ctx.stage_name
    hosting_arns = Output.all(
        cluster_arn=hosting.cluster_arn, cluster_name=hosting.cluster_name, listener_arn=hosting.listener_arn,
        instance_role_arn=hosting.instance_role_arn, task_role_arn=hosting.task_role_arn,
        execution_role_arn=hosting.execution_role_arn, instance_security_group_id=hosting.instance_security_group_id,
        private_subnet_ids=network.private_subnet_ids, scheduler_role_arn=hosting.scheduler_role_arn,
    ).apply(lambda v: iam_policies.HostingArns(**{**v, "private_subnet_ids": tuple(v["private_subnet_ids"]),
                                                  "scheduler_role_arn": v["scheduler_role_arn"] or ""}))
    return Output.all(
        hosting=hosting_arns, table_arns=Output.all(*data.table_arns.values()),
        state_bucket_arn=data.bucket_arns["deploymentState"], models_bucket_arn=data.bucket_arns["models"],
        rag_bucket_arn=data.bucket_arns["ragDocuments"], master_key_secret_arn=data.master_key_secret_arn,
        kms_key_arn=data.kms_key_arn, rag_domain_arns=Output.all(*rag.domain_arns),
        rag_secret_arns=Output.all(*rag.secret_arns), sessions_bucket_arn=data.bucket_arns["sessions"],
    ).apply(lambda v: iam_policies.ControlPlaneGrants(**{
        **v, "deployment": d, "stage": s, "table_arns": tuple(v["table_arns"]),
        "rag_domain_arns": tuple(v["rag_domain_arns"]), "rag_secret_arns": tuple(a for a in v["rag_secret_arns"] if a),
        "model_secret_prefix": naming.model_api_key_secret_prefix(d, s),
        "model_log_group_prefix": naming.model_log_group_prefix(d, s),
        "mcp_secret_prefix": naming.mcp_server_secret_prefix(d, s),
        "model_schedule_prefix": naming.model_schedule_prefix(d, s),
        "pipeline_bucket_arns": tuple(f"arn:{ctx.partition}:s3:::{b}" for b in pipeline_buckets)}))


def main() -> dict[str, Any]:
    config = read_stage_config()  # before anything is registered
    outputs = compose(config)
    for key, value in outputs.items():
        if value is not None:
            pulumi.export(key, value)
    return outputs


exports = main()
