from core import aws
from core.config import parse_stage_config
from services.local.emulated_aws import provision
from tests.fixtures.stage import TEST_MASTER_KEY, stage_dict


def test_provision_creates_the_stage_and_is_idempotent(platform):
    outputs, admin = platform
    again = provision(parse_stage_config(stage_dict()))
    assert again.tables == outputs.tables
    assert again.model_hosting.listener_arn == outputs.model_hosting.listener_arn
    assert again.auth.user_pool_id == outputs.auth.user_pool_id
    tables = aws.client("dynamodb").list_tables()["TableNames"]
    assert {outputs.tables.models, outputs.tables.tokens, outputs.tables.sessions, outputs.tables.rag_documents} <= set(tables)
    secret = aws.client("secretsmanager").get_secret_value(SecretId=outputs.master_key_secret_id)["SecretString"]
    assert secret == TEST_MASTER_KEY


def test_admin_user_signs_in_with_the_admin_group(platform):
    outputs, admin = platform
    result = aws.client("cognito-idp").admin_initiate_auth(
        UserPoolId=outputs.auth.user_pool_id, ClientId=outputs.auth.client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": admin.username, "PASSWORD": admin.password})
    import jwt

    claims = jwt.decode(result["AuthenticationResult"]["IdToken"], options={"verify_signature": False})
    assert claims["cognito:groups"] == [outputs.auth.admin_group]


def test_provision_makes_the_stage_key_once(platform):
    from core import naming

    outputs, _ = platform
    alias = naming.stage_key_alias(outputs.deployment_name, outputs.deployment_stage)
    key = aws.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    provision(parse_stage_config(stage_dict()))
    assert aws.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key
