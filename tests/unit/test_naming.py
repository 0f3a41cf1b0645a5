"""Resource names: within AWS's limits for the longest deployment names, and unique when trimmed."""

from __future__ import annotations

import re

import pytest

from core import naming

LONGEST = ("abcdefghijklmnop", "prod")  # 16-character deployment name (the config's maximum), longest stage
ACCOUNT = "123456789012"
LONG_ID = "m" * 63  # the longest model / repository id
BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
ELB = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")


def test_names_derive_from_deployment_and_stage():
    assert naming.prefix("lisa", "dev") == "lisa-dev"
    assert naming.models_table("lisa", "dev") == "lisa-dev-models"
    assert naming.model_stack("lisa", "dev", "mistral") == "lisa-dev-model-mistral"


@pytest.mark.parametrize("fn", [naming.serve_alb, naming.api_alb, naming.model_alb])
def test_load_balancer_names_fit_32_characters(fn):
    for deployment, stage in (("lisa", "dev"), LONGEST):
        assert ELB.match(fn(deployment, stage)), fn(deployment, stage)


def test_target_group_names_fit_32_characters_for_the_longest_model_id():
    name = naming.model_target_group(*LONGEST, LONG_ID)
    assert len(name) == 32 and ELB.match(name)


def test_trimmed_target_group_names_stay_unique():
    ids = [f"{'llama-3-70b-instruct-awq-quantized'}-{i}" for i in range(50)]
    names = {naming.model_target_group(*LONGEST, model_id) for model_id in ids}
    assert len(names) == 50


def test_trimmed_names_keep_the_stage_prefix_so_iam_can_scope_to_it():
    assert naming.model_target_group(*LONGEST, LONG_ID).startswith(naming.prefix(*LONGEST) + "-")


def test_short_names_are_not_trimmed():
    assert naming.model_target_group("lisa", "dev", "mistral") == "lisa-dev-mistral"


@pytest.mark.parametrize("fn", [naming.models_bucket, naming.rag_bucket, naming.state_bucket, naming.web_bucket,
                                naming.access_logs_bucket])
def test_bucket_names_are_valid_and_fit_63_characters(fn):
    for deployment, stage in (("lisa", "dev"), LONGEST):
        assert BUCKET.match(fn(deployment, stage, ACCOUNT))
        assert fn(deployment, stage, ACCOUNT).endswith(ACCOUNT)


def test_bucket_names_of_two_accounts_differ():
    assert naming.models_bucket("lisa", "dev", "111111111111") != naming.models_bucket("lisa", "dev", "222222222222")


def test_opensearch_domain_names_fit_28_characters_and_stay_unique():
    names = {naming.rag_opensearch_domain(*LONGEST, f"{LONG_ID[:50]}-{i}") for i in range(20)}
    assert len(names) == 20
    assert all(re.match(r"^[a-z][a-z0-9-]{2,27}$", n) for n in names)


def test_rds_identifiers_fit_63_characters_without_a_trailing_hyphen():
    name = naming.rag_db_instance(*LONGEST, LONG_ID)
    assert len(name) <= 63 and not name.endswith("-") and "--" not in name


@pytest.mark.parametrize("fn", [naming.app_task_role, naming.app_execution_role])
def test_role_names_fit_64_characters(fn):
    assert len(fn(*LONGEST, "serve")) <= 64


def test_hosting_role_names_are_what_the_local_stack_creates():
    assert (naming.model_instance_role("lisa", "dev"), naming.model_task_role("lisa", "dev"),
            naming.model_execution_role("lisa", "dev")) == ("lisa-dev-model-instance", "lisa-dev-model-task",
                                                              "lisa-dev-model-execution")


def test_per_model_names_start_with_the_prefixes_iam_scopes_to():
    assert naming.model_log_group("lisa", "dev", "m1").startswith(naming.model_log_group_prefix("lisa", "dev"))
    assert naming.model_api_key_secret("lisa", "dev", "m1").startswith(
        naming.model_api_key_secret_prefix("lisa", "dev"))


def test_the_cognito_domain_prefix_is_unique_per_account():
    assert naming.cognito_domain_prefix("lisa", "dev", ACCOUNT) == f"lisa-dev-{ACCOUNT}"


def test_capacity_provider_names_avoid_reserved_prefixes():
    assert naming.model_capacity_provider("aws", "dev", "m").startswith("cp-")


def test_collection_pipeline_rules_fit_64_characters_and_stay_apart():
    names = {naming.collection_pipeline_rule(*LONGEST, LONG_ID, collection, index)
             for collection in ("c" * 128, "c" * 127 + "d", "docs") for index in (0, 1, 19)}
    assert len(names) == 9
    assert all(len(n) <= 64 and n.startswith(f"{naming.prefix(*LONGEST)}-rag-") for n in names)  # IAM: rule/<prefix>-rag-*
    assert naming.collection_pipeline_rule("lisa", "dev", "docs", "docs", 0) != naming.pipeline_rule("lisa", "dev", "docs", 0)
