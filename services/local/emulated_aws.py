"""Creates a stage's AWS resources in the emulator (moto server) and returns the platform outputs.

The same stage config and naming code as the core stack decide what exists and what it is called; only the
calls differ (boto3 against the emulator instead of Pulumi against AWS). Idempotent: resources that already exist
are looked up, so a restart of the local stack against a running emulator finds what it made before.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from botocore.exceptions import ClientError

from components import iam_policies
from core import aws, naming
from core import secrets as secret_store
from core.config import CognitoAuthConfig, StageConfig
from core.platform import (
    AuthOutputs,
    Buckets,
    ModelHostingOutputs,
    PlatformOutputs,
    RagStoreOutputs,
    Tables,
)
from core.tables import TABLES

@dataclass
class AdminUser:
    username: str
    password: str


def _exists(exc: ClientError, *codes: str) -> bool:
    return aws.error_code(exc) in codes


def _tables(config: StageConfig) -> Tables:
    ddb = aws.client("dynamodb")
    names = {}
    for spec in TABLES:
        name = spec.name(config.deployment_name, config.deployment_stage.value)
        try:
            ddb.create_table(
                TableName=name,
                AttributeDefinitions=spec.attribute_definitions(),
                KeySchema=spec.key_schema(),
                **({"GlobalSecondaryIndexes": spec.global_secondary_indexes()} if spec.indexes else {}),
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True},
            )
        except ClientError as exc:
            if not _exists(exc, "ResourceInUseException"):
                raise
        names[spec.key] = name
    return Tables.model_validate(names)


def _buckets(config: StageConfig, account: str) -> Buckets:
    s3 = aws.client("s3")
    d, s = config.deployment_name, config.deployment_stage.value
    names = {
        "models": naming.models_bucket(d, s, account),
        "ragDocuments": naming.rag_bucket(d, s, account),
        "deploymentState": naming.state_bucket(d, s, account),
        "web": naming.web_bucket(d, s, account),
        "sessions": naming.sessions_bucket(d, s, account),
    }
    for name in names.values():
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as exc:
            if not _exists(exc, "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
            },
        )
    return Buckets.model_validate(names)


def _master_key(config: StageConfig) -> str:
    name = naming.master_key_secret(config.deployment_name, config.deployment_stage.value)
    return secret_store.put(name, config.litellm_config.general_settings.master_key.get_secret_value())


def _stage_key(config: StageConfig) -> str:
    """The stage's KMS key under its alias, as DataStores makes it in AWS (the model stacks' secrets provider)."""
    kms, alias = aws.client("kms"), naming.stage_key_alias(config.deployment_name, config.deployment_stage.value)
    try:
        return kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    except ClientError as exc:
        if not _exists(exc, "NotFoundException"):
            raise
    key = kms.create_key(Description=f"LISA {config.deployment_name}-{config.deployment_stage.value}")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key["Arn"]


def _role(name: str, trust: dict) -> str:
    iam = aws.client("iam")
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except ClientError as exc:
        if not _exists(exc, "EntityAlreadyExists"):
            raise
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def _instance_profile(name: str, role: str) -> str:
    iam = aws.client("iam")
    try:
        arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
        return arn
    except ClientError as exc:
        if not _exists(exc, "EntityAlreadyExists"):
            raise
        return iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]


def _network(config: StageConfig) -> tuple[str, list[str], str, str]:
    """A VPC with two private subnets, an instance security group and a model-ALB security group."""
    ec2 = aws.client("ec2")
    tag = naming.prefix(config.deployment_name, config.deployment_stage.value)
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:lisa:prefix", "Values": [tag]}])["Vpcs"]
    if found:
        vpc_id = found[0]["VpcId"]
    else:
        cidr = getattr(config.vpc, "vpc_cidr", "10.0.0.0/16")
        vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "lisa:prefix", "Value": tag}]}])["Vpc"]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    if len(subnets) < 2:
        base = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"].split(".")
        subnets = [
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{base[0]}.{base[1]}.{i * 16}.0/20",
                              AvailabilityZone=f"{aws.region()}{az}")["Subnet"]
            for i, az in enumerate("ab")
        ]
    subnet_ids = sorted(s["SubnetId"] for s in subnets)[:2]

    def group(name: str, description: str) -> str:
        existing = ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
        if existing:
            return existing[0]["GroupId"]
        return ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc_id)["GroupId"]

    alb_sg = group(f"{tag}-model-alb", "model ALB: reachable from serve only")
    instance_sg = group(f"{tag}-model-instances", "GPU instances: reachable from the model ALB only")
    return vpc_id, subnet_ids, instance_sg, alb_sg


def _model_alb(config: StageConfig, subnets: list[str], alb_sg: str) -> tuple[str, str, str]:
    elb = aws.client("elbv2")
    name = naming.model_alb(config.deployment_name, config.deployment_stage.value)
    try:
        lb = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except ClientError as exc:
        if not _exists(exc, "LoadBalancerNotFound"):
            raise
        lb = elb.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[alb_sg], Scheme="internal",
                                      Type="application")["LoadBalancers"][0]
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    if listeners:
        listener = listeners[0]["ListenerArn"]
    else:
        listener = elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
                "StatusCode": "404", "ContentType": "application/json",
                "MessageBody": '{"error":"no model matches this request"}'}}],
        )["Listeners"][0]["ListenerArn"]
    return lb["LoadBalancerArn"], listener, lb["DNSName"]


def _cognito(config: StageConfig, admin: AdminUser | None) -> AuthOutputs:
    idp = aws.client("cognito-idp")
    name = naming.user_pool(config.deployment_name, config.deployment_stage.value)
    admin_group = config.auth_config.admin_group
    pools = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == name]
    pool_id = pools[0]["Id"] if pools else idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
    clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    if clients:
        client_id = clients[0]["ClientId"]
    else:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="web", GenerateSecret=False, ReadAttributes=["email"],
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    for group in dict.fromkeys(g for g in (admin_group, config.auth_config.user_group,
                                           config.auth_config.rag_admin_group, config.auth_config.api_group) if g):
        try:
            idp.create_group(GroupName=group, UserPoolId=pool_id)
        except ClientError as exc:
            if not _exists(exc, "GroupExistsException"):
                raise
    if admin is not None:
        ensure_user(pool_id, admin.username, admin.password, groups=[admin_group])
    endpoint = aws.endpoint_url() or ""
    return AuthOutputs(
        # moto signs tokens with the real-AWS issuer URL but serves the keys from its own endpoint.
        authority=f"https://cognito-idp.{aws.region()}.amazonaws.com/{pool_id}",
        client_id=client_id,
        admin_group=admin_group,
        jwt_groups_property="cognito:groups",
        jwks_url=f"{endpoint}/{pool_id}/.well-known/jwks.json",
        user_pool_id=pool_id,
        user_group=config.auth_config.user_group,
        rag_admin_group=config.auth_config.rag_admin_group,
        api_group=config.auth_config.api_group,
    )


def ensure_user(pool_id: str, username: str, password: str, groups: list[str] = ()) -> None:
    """A confirmed user with a permanent password, in `groups` (idempotent)."""
    idp = aws.client("cognito-idp")
    try:
        idp.admin_create_user(UserPoolId=pool_id, Username=username, TemporaryPassword=password,
                              MessageAction="SUPPRESS")
    except ClientError as exc:
        if not _exists(exc, "UsernameExistsException"):
            raise
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)


def provision(config: StageConfig, *, admin: AdminUser | None = None) -> PlatformOutputs:
    """Create (or find) every emulated resource of the stage and describe them as platform outputs."""
    d, s = config.deployment_name, config.deployment_stage.value
    account = aws.client("sts").get_caller_identity()["Account"]
    tables = _tables(config)
    buckets = _buckets(config, account)
    master_key_arn = _master_key(config)
    _stage_key(config)
    vpc_id, subnets, instance_sg, alb_sg = _network(config)
    lb_arn, listener_arn, lb_dns = _model_alb(config, subnets, alb_sg)
    cluster = aws.client("ecs").create_cluster(clusterName=naming.gpu_cluster(d, s))["cluster"]  # idempotent in ECS
    instance_role = naming.model_instance_role(d, s)
    _role(instance_role, iam_policies.ec2_trust())
    hosting = ModelHostingOutputs(
        cluster_name=cluster["clusterName"],
        cluster_arn=cluster["clusterArn"],
        load_balancer_arn=lb_arn,
        listener_arn=listener_arn,
        load_balancer_dns_name=lb_dns,
        load_balancer_security_group_id=alb_sg,
        vpc_id=vpc_id,
        private_subnet_ids=subnets,
        instance_security_group_ids=[instance_sg],
        instance_profile_arn=_instance_profile(instance_role, instance_role),
        task_role_arn=_role(naming.model_task_role(d, s), iam_policies.ecs_tasks_trust(account)),
        execution_role_arn=_role(naming.model_execution_role(d, s), iam_policies.ecs_tasks_trust(account)),
        image_repository_arns=[iam_policies.Account("aws", aws.region(), account).arn("ecr", f"repository/{name}")
                               for name in config.model_image_repositories],
        scheduler_role_arn=_role(naming.model_scheduler_role(d, s), iam_policies.scheduler_trust(account)),
    )
    if isinstance(config.auth_config, CognitoAuthConfig):
        auth = _cognito(config, admin)
    else:
        auth = AuthOutputs(
            authority=config.auth_config.authority,
            client_id=config.auth_config.client_id,
            admin_group=config.auth_config.admin_group,
            jwt_groups_property=config.auth_config.jwt_groups_property,
            additional_scopes=config.auth_config.additional_scopes,
            user_group=config.auth_config.user_group,
            rag_admin_group=config.auth_config.rag_admin_group,
            api_group=config.auth_config.api_group,
        )
    return PlatformOutputs(
        deployment_name=d,
        deployment_stage=s,
        region=aws.region(),
        account_id=account,
        tables=tables,
        buckets=buckets,
        master_key_secret_id=master_key_arn,
        auth=auth,
        model_hosting=hosting,
        rag_stores=[RagStoreOutputs(repository=r) for r in config.rag_repositories],
        static_models=config.litellm_config.model_list,
        rate_limits=config.serve_config.rate_limits,
        litellm_settings=config.litellm_config.litellm_settings,
        max_gpu_instances=config.max_gpu_instances,
        rag_pipeline_buckets=config.rag_pipeline_buckets,
    )


def new_admin_password() -> str:
    # Cognito's default policy: upper, lower, digit, symbol, 8+ characters.
    return f"Lisa-{secrets.token_urlsafe(12)}1a!"
