"""The engine's pure parts: event summaries, failure reasons, the event log, backend URLs, readiness rules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pulumi.automation import EngineEvent
from pulumi.automation.events import (
    DiagnosticEvent,
    OpType,
    ResourcePreEvent,
    StepEventMetadata,
    SummaryEvent,
)

from core.platform import PlatformOutputs
from services.api.engine import readiness_rule
from services.api.engine.events import EventLog, failure_reason, summarize
from services.api.engine.stacks import REPO_ROOT, default_backend_url, describe_command_error, workspace_env
from tests.fixtures.sample_platform import table_names

TRACEBACK = """Exception calling application: Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/pulumi/dynamic/__main__.py", line 167, in Create
    result = provider.create(props)
  File "/work/main/providers/hosted_model.py", line 300, in create
    raise exc
botocore.exceptions.ClientError: An error occurred (PriorityInUse) when calling the CreateRule operation: taken
"""


def _event(**kind) -> EngineEvent:
    return EngineEvent(sequence=1, timestamp=0, **kind)


def test_a_step_event_names_the_resource_and_the_operation():
    meta = StepEventMetadata(op=OpType.UPDATE, urn="urn:pulumi:s::p::pulumi-python:dynamic/lisa:HostedModel::model",
                             type="pulumi-python:dynamic/lisa:HostedModel", provider="", diffs=["enabled"])
    summary = summarize(_event(resource_pre_event=ResourcePreEvent(metadata=meta)))
    assert summary == {"type": "step", "phase": "started", "op": "update", "resource": "model",
                       "resourceType": "pulumi-python:dynamic/lisa:HostedModel", "diffs": ["enabled"]}


def test_debug_diagnostics_are_dropped():
    assert summarize(_event(diagnostic_event=DiagnosticEvent(message="registering", color="never", severity="debug"))) is None


def test_a_summary_event_keeps_the_resource_changes():
    event = _event(summary_event=SummaryEvent(maybe_corrupt=False, duration_seconds=3,
                                              resource_changes={OpType.SAME: 3}, policy_packs={}))
    assert summarize(event)["resourceChanges"] == {OpType.SAME: 3}


def test_failure_reason_is_the_exception_line_of_a_provider_traceback():
    assert failure_reason([TRACEBACK, "update failed", "Resource monitor has terminated, shutting down"], "x") == (
        "ClientError: An error occurred (PriorityInUse) when calling the CreateRule operation: taken")


def test_failure_reason_falls_back_to_a_plain_diagnostic_then_to_the_command_error():
    assert failure_reason(["error: unable to open state directory", "update failed"], "x") == \
        "error: unable to open state directory"
    assert failure_reason([], "the CLI exited with 255") == "the CLI exited with 255"


def test_command_errors_are_cut_down_to_their_stderr_tail():
    error = Exception("\n code: 255\n stdout: lots of progress\n stderr: warning: a\nerror: the stack is locked\n")
    assert describe_command_error(error) == "warning: a error: the stack is locked"


def test_the_event_log_keeps_the_last_events_of_each_model():
    log = EventLog(limit=10)
    for i in range(15):
        log.note("a", f"event {i}")
    log.note("b", "other model")
    events = log.of("a")
    assert [e["message"] for e in events] == [f"event {i}" for i in range(5, 15)]
    assert log.of("a", after=events[-2]["sequence"]) == [events[-1]]


def test_the_default_backend_is_the_deployment_state_bucket(platform_outputs):
    assert default_backend_url(platform_outputs, None) == "s3://lisa-test-deploy-state"


def test_against_an_emulator_the_backend_names_its_endpoint(platform_outputs):
    url = default_backend_url(platform_outputs, "http://127.0.0.1:5000")
    assert url == ("s3://lisa-test-deploy-state?endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true"
                   "&region=us-east-1&disable_https=true")


def test_the_provider_process_runs_this_interpreter_and_can_import_the_providers(tmp_path):
    env = workspace_env(passphrase="p", pulumi_bin=tmp_path)
    assert env["PULUMI_PYTHON_CMD"] == sys.executable
    first = Path(env["PYTHONPATH"].split(os.pathsep)[0])
    assert first == REPO_ROOT and (first / "providers" / "hosted_model.py").is_file()
    assert env["PATH"].startswith(str(tmp_path))


def test_readiness_is_deployed_against_an_emulator_and_healthy_in_aws():
    assert readiness_rule("auto", "http://127.0.0.1:5000") == "deployed"
    assert readiness_rule("auto", None) == "healthy"
    assert readiness_rule("healthy", "http://127.0.0.1:5000") == "healthy"


@pytest.fixture
def platform_outputs() -> PlatformOutputs:
    hosting = {"clusterName": "c", "clusterArn": "arn:c", "loadBalancerArn": "arn:lb", "listenerArn": "arn:l",
               "loadBalancerDnsName": "lb", "vpcId": "vpc-1", "privateSubnetIds": ["s1", "s2"],
               "instanceSecurityGroupIds": ["sg"], "instanceProfileArn": "arn:ip", "taskRoleArn": "arn:t",
               "executionRoleArn": "arn:e"}
    return PlatformOutputs.model_validate({
        "deploymentName": "lisa", "deploymentStage": "test", "region": "us-east-1",
        "tables": table_names(),
        "buckets": {"models": "b", "ragDocuments": "d", "deploymentState": "lisa-test-deploy-state"},
        "masterKeySecretId": "k", "auth": {"authority": "https://a", "clientId": "c", "adminGroup": "g"},
        "modelHosting": hosting,
    })


def test_input_changes_name_each_declared_property_a_step_changes():
    from services.api.engine.events import input_changes

    before = {"__provider": "x", "drift": [], "containerConfig": {"environment": {"A": "1", "B": "2"}}, "enabled": True}
    after = {"__provider": "y", "containerConfig": {"environment": {"A": "3"}}, "enabled": True}
    assert input_changes(before, after) == [
        {"property": "containerConfig.environment.A", "before": "1", "after": "3"},
        {"property": "containerConfig.environment.B", "before": "2", "after": None},
    ]
