"""RagStores: per repository an OpenSearch domain or an RDS Postgres (pgvector), in private subnets, apps-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam_policies
from components.stage_context import StageContext
from core import naming
from core.config import RagRepositoryConfig

OPENSEARCH_ENGINE = "OpenSearch_2.19"
OPENSEARCH_TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"
# pgvector ships with RDS PostgreSQL; 16 is the oldest major with HNSW-capable pgvector on every RDS minor.
POSTGRES_MAJOR = "16"
POSTGRES_PORT = 5432
RAG_DATABASE = "rag"


def opensearch_zone_awareness(data_nodes: int) -> dict[str, Any]:
    """Two or more data nodes spread across both AZs; one node lives in one subnet."""
    if data_nodes >= 2:
        return {"zone_awareness_enabled": True, "zone_awareness_config": {"availability_zone_count": 2}}
    return {"zone_awareness_enabled": False}


def opensearch_subnets(subnet_ids: list[str], data_nodes: int) -> list[str]:
    return subnet_ids[:2] if data_nodes >= 2 else subnet_ids[:1]


@dataclass(frozen=True)
class RagStoresArgs:
    context: StageContext
    repositories: tuple[RagRepositoryConfig, ...]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    client_security_group_ids: tuple[pulumi.Input[str], ...]
    kms_key_arn: pulumi.Input[str]
    # The api's task role: the one principal fine-grained access control maps to OpenSearch's admin role.
    admin_role_arn: pulumi.Input[str]

    def __post_init__(self) -> None:
        ids = [r.repository_id for r in self.repositories]
        if len(ids) != len(set(ids)):
            raise ValueError("repository ids must be unique")
        if self.repositories and not self.client_security_group_ids:
            raise ValueError("RAG stores need at least one client security group")


class RagStores(pulumi.ComponentResource):
    outputs: pulumi.Output[list[dict[str, Any]]]  # shaped like core.platform.RagStoreOutputs
    domain_arns: list[pulumi.Output[str]]
    secret_arns: list[pulumi.Output[str]]

    def __init__(self, name: str, args: RagStoresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:RagStores", name, None, opts)
        self._name, self._ctx, self._args = name, args.context, args
        self.domain_arns, self.secret_arns = [], []
        stores = []
        for repo in args.repositories:
            sg = self._security_group(repo)
            stores.append(self._opensearch(repo, sg) if repo.type == "opensearch" else self._postgres(repo, sg))
        self.outputs = pulumi.Output.all(*stores) if stores else pulumi.Output.from_input([])
        self.register_outputs({"stores": self.outputs})

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _security_group(self, repo: RagRepositoryConfig) -> aws.ec2.SecurityGroup:
        n, rid = self._name, repo.repository_id
        port = 443 if repo.type == "opensearch" else POSTGRES_PORT
        sg = aws.ec2.SecurityGroup(f"{n}-{rid}-sg", vpc_id=self._args.vpc_id,
                                   description=f"RAG store {rid}: from the apps only",
                                   tags={"Name": f"{self._ctx.prefix}-rag-{rid}"}, opts=self._opts())
        for i, client in enumerate(self._args.client_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(f"{n}-{rid}-from-client-{i}", security_group_id=sg.id,
                                             referenced_security_group_id=client, ip_protocol="tcp",
                                             from_port=port, to_port=port, description="from the apps",
                                             opts=self._opts())
        return sg

    def _opensearch(self, repo: RagRepositoryConfig, sg: aws.ec2.SecurityGroup) -> pulumi.Output[dict]:
        ctx, args, sizing = self._ctx, self._args, repo.opensearch_config
        domain_name = naming.rag_opensearch_domain(ctx.deployment, ctx.stage_name, repo.repository_id)
        account = pulumi.Output.from_input(ctx.account_id).apply(
            lambda a: iam_policies.Account(ctx.partition, ctx.region, a))
        domain_arn = account.apply(lambda a: a.arn("es", f"domain/{domain_name}"))
        cluster = {"instance_type": sizing.data_node_instance_type, "instance_count": sizing.data_nodes,
                   **opensearch_zone_awareness(sizing.data_nodes)}
        if sizing.master_nodes:
            cluster.update(dedicated_master_enabled=True, dedicated_master_count=sizing.master_nodes,
                           dedicated_master_type=sizing.master_node_instance_type)
        domain = aws.opensearch.Domain(
            f"{self._name}-{repo.repository_id}",
            domain_name=domain_name,
            engine_version=OPENSEARCH_ENGINE,
            cluster_config=cluster,
            ebs_options={"ebs_enabled": True, "volume_type": "gp3", "volume_size": sizing.volume_size_gib},
            vpc_options={"subnet_ids": pulumi.Output.from_input(args.private_subnet_ids).apply(
                lambda ids: opensearch_subnets(ids, sizing.data_nodes)), "security_group_ids": [sg.id]},
            encrypt_at_rest={"enabled": True, "kms_key_id": args.kms_key_arn},
            node_to_node_encryption={"enabled": True},
            domain_endpoint_options={"enforce_https": True, "tls_security_policy": OPENSEARCH_TLS_POLICY},
            advanced_security_options={"enabled": True, "internal_user_database_enabled": False,
                                       "master_user_options": {"master_user_arn": args.admin_role_arn}},
            access_policies=pulumi.Output.all(domain_arn, args.admin_role_arn).apply(
                lambda v: iam_policies.to_json(iam_policies.opensearch_access_policy(v[0], [v[1]]))),
            opts=self._opts(),
        )
        self.domain_arns.append(domain.arn)
        return pulumi.Output.all(repository=repo.model_dump(mode="json"),
                                 endpoint=domain.endpoint.apply(lambda e: f"https://{e}"), port=443)

    def _postgres(self, repo: RagRepositoryConfig, sg: aws.ec2.SecurityGroup) -> pulumi.Output[dict]:
        ctx, args, sizing, n = self._ctx, self._args, repo.rds_config, self._name
        rid = repo.repository_id
        subnets = aws.rds.SubnetGroup(f"{n}-{rid}-subnets", subnet_ids=args.private_subnet_ids,
                                      description=f"RAG store {rid}: private subnets", opts=self._opts())
        params = aws.rds.ParameterGroup(
            f"{n}-{rid}-params", family=f"postgres{POSTGRES_MAJOR}",
            description=f"RAG store {rid}: TLS only",
            parameters=[{"name": "rds.force_ssl", "value": "1"}], opts=self._opts())
        identifier = naming.rag_db_instance(ctx.deployment, ctx.stage_name, rid)
        db = aws.rds.Instance(
            f"{n}-{rid}",
            identifier=identifier,
            engine="postgres",
            engine_version=POSTGRES_MAJOR,
            instance_class=sizing.instance_class,
            allocated_storage=sizing.allocated_storage_gib,
            max_allocated_storage=sizing.allocated_storage_gib * 4,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=RAG_DATABASE,
            username=sizing.username,
            # RDS generates, stores and rotates the password in Secrets Manager; it never passes through Pulumi.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            db_subnet_group_name=subnets.name,
            parameter_group_name=params.name,
            vpc_security_group_ids=[sg.id],
            publicly_accessible=False,
            multi_az=sizing.multi_az,
            port=POSTGRES_PORT,
            backup_retention_period=30 if ctx.retain else 7,
            copy_tags_to_snapshot=True,
            deletion_protection=ctx.retain,
            skip_final_snapshot=not ctx.retain,
            final_snapshot_identifier=f"{identifier}-final" if ctx.retain else None,
            auto_minor_version_upgrade=True,
            apply_immediately=not ctx.retain,
            opts=self._opts(),
        )
        secret_arn = db.master_user_secrets.apply(lambda secrets: secrets[0]["secret_arn"] if secrets else None)
        self.secret_arns.append(secret_arn)
        return pulumi.Output.all(repository=repo.model_dump(mode="json"), endpoint=db.address, port=POSTGRES_PORT,
                                 database=RAG_DATABASE, credentialsSecretArn=secret_arn)
