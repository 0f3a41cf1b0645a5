"""Administration of a hosted model beyond its lifecycle (issue 15): the drift badge, the diff of a change made behind
the platform's back and its reconcile; the edit form's preview, its replacement guard and an in-place change; the
schedule editor with the next transitions; and the GPU capacity left. One ECS-hosted model, made through the admin
API in the local stack's emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.pages import model_row, sign_in, unique, wait_status
from tests.e2e.stack import LocalStack, cognito_id_token
from tests.fixtures import processes
from tests.fixtures.eventually import eventually
from tests.fixtures.model_payloads import ecs_model

pytestmark = pytest.mark.e2e


def _in_emulator(emulator: str, code: str, *args: str) -> str:
    # In a child process: core.aws takes the endpoint from the environment, which this test session must not change.
    env = {**os.environ, "LISA_AWS_ENDPOINT_URL": emulator, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "LISA_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=processes.REPO, env=env, check=True,
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


SCALE_BY_HAND = """
import sys
from core import aws
groups = aws.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
name = next(g["AutoScalingGroupName"] for g in groups if g["AutoScalingGroupName"].endswith("-" + sys.argv[1]))
aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=name, MaxSize=3, DesiredCapacity=3)
print(name)
"""


class Admin:
    def __init__(self, stack: LocalStack) -> None:
        self.api = stack.api
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {cognito_id_token(stack.emulator, stack.client_id, stack.admin)}"

    def model(self, model_id: str) -> dict:
        return self.session.get(f"{self.api}/models/{model_id}", timeout=30).json()["model"]

    def settled(self, model_id: str, timeout: float = 120) -> dict:
        return eventually(lambda: (m := self.model(model_id))["status"] in ("InService", "Stopped", "Failed") and m,
                          timeout, f"{model_id} settling")


@pytest.fixture(scope="module")
def admin(local_stack: LocalStack) -> Admin:
    return Admin(local_stack)


@pytest.fixture(scope="module")
def hosted(admin: Admin) -> str:
    model_id = unique("e2e-hosted").replace(" ", "-")
    response = admin.session.post(f"{admin.api}/models", json=ecs_model(modelId=model_id), timeout=30)
    assert response.status_code == 200, response.text
    assert admin.settled(model_id)["status"] == "InService"
    yield model_id
    admin.session.delete(f"{admin.api}/models/{model_id}", timeout=30)


# Overnight windows whose starts and stops are hours apart: whatever the time of day, one of them has no transition
# in the next QUIET hours, so the stack's real clock cannot start or stop the model while the test runs.
OVERNIGHT_WINDOWS = (("22:00", "06:30"), ("14:00", "02:30"))
QUIET = timedelta(hours=3)


def _quiet_window(now: datetime) -> tuple[str, str]:
    def ahead(clock: str) -> timedelta:
        hours, minutes = map(int, clock.split(":"))
        at = timedelta(hours=hours, minutes=minutes)
        return (at - timedelta(hours=now.hour, minutes=now.minute)) % timedelta(days=1)
    return next(w for w in OVERNIGHT_WINDOWS if all(ahead(clock) > QUIET for clock in w))


def _models_page(new_page, local_stack: LocalStack) -> Page:
    page = new_page()
    sign_in(page, local_stack, local_stack.admin, "/admin/models")
    return page


def test_drift_made_behind_the_platform_shows_as_a_diff_and_reconciles(new_page, local_stack, admin, hosted,
                                                                       screenshots):
    page = _models_page(new_page, local_stack)
    row = model_row(page, hosted)
    expect(row.get_by_test_id("drift-badge")).to_have_text("not checked")
    _in_emulator(local_stack.emulator, SCALE_BY_HAND, hosted)

    row.get_by_role("button", name=f"Drift of {hosted}").click()
    dialog = page.get_by_role("dialog", name=f"Drift: {hosted}")
    dialog.get_by_role("button", name="Check drift").click()
    rows = dialog.get_by_test_id("drift-row")
    expect(rows.filter(has_text="autoScalingGroup.desiredCapacity")).to_contain_text("3")
    expect(rows.filter(has_text="autoScalingGroup.maxSize")).to_have_count(1)
    screenshots(page, "admin-model-drift")
    dialog.get_by_role("button", name="Close").click()
    expect(row.get_by_test_id("drift-badge")).to_have_text("drift: 2")

    row.get_by_role("button", name=f"Drift of {hosted}").click()
    dialog.get_by_role("button", name="Check drift").click()
    dialog.get_by_role("button", name="Reconcile").click()
    wait_status(page, hosted, "InService")
    expect(row.get_by_test_id("drift-badge")).to_have_text("in sync")


def test_the_edit_form_previews_the_diff_and_guards_a_replacement(new_page, local_stack, admin, hosted, screenshots):
    page = _models_page(new_page, local_stack)
    wait_status(page, hosted, "InService")
    model_row(page, hosted).get_by_role("button", name=f"Edit {hosted}").click()
    form = page.get_by_role("form", name=f"Edit {hosted}")
    environment = form.get_by_label("Environment (KEY=VALUE per line)")
    environment.fill(environment.input_value() + "\nE2E_FLAG=on")
    form.get_by_role("button", name="Preview").click()
    expect(form.get_by_test_id("preview-row").filter(has_text="E2E_FLAG")).to_contain_text("on")
    expect(form.get_by_test_id("replace-warning")).to_have_count(0)
    screenshots(page, "admin-model-edit-preview")

    instance = form.get_by_label("Instance type")
    original = instance.input_value()
    instance.fill("g5.2xlarge")
    form.get_by_role("button", name="Preview").click()
    expect(form.get_by_test_id("replace-warning")).to_contain_text("instanceType")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("allowReplace")
    assert admin.model(hosted)["instanceType"] == original  # refused: nothing written

    instance.fill(original)
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)  # closed once the PUT is answered: the status below is the update's, not the old one
    wait_status(page, hosted, "InService")
    assert admin.model(hosted)["containerConfig"]["environment"]["E2E_FLAG"] == "on"


def test_the_schedule_editor_saves_a_schedule_and_shows_the_next_transitions(new_page, local_stack, admin, hosted,
                                                                            screenshots):
    page = _models_page(new_page, local_stack)
    wait_status(page, hosted, "InService")
    model_row(page, hosted).get_by_role("button", name=f"Schedule of {hosted}").click()
    form = page.get_by_role("form", name=f"Schedule of {hosted}")
    form.get_by_label("Schedule type").select_option("RECURRING")
    start, stop = _quiet_window(datetime.now(ZoneInfo("Asia/Tokyo")))
    form.get_by_label("Time zone").fill("Asia/Tokyo")
    form.get_by_label("Daily start").fill(start)
    form.get_by_label("Daily stop").fill(stop)
    form.get_by_role("button", name="Save schedule").click()
    transitions = page.get_by_test_id("next-transitions").locator("li")
    expect(transitions).to_have_count(6)
    texts = transitions.all_inner_texts()
    assert all("(Asia/Tokyo)" in t for t in texts)
    assert {t.split()[0] for t in texts} == {"START", "STOP"} and texts[0].split()[0] != texts[1].split()[0]
    assert all(start in t for t in texts if t.startswith("START"))
    assert all(stop in t for t in texts if t.startswith("STOP"))
    screenshots(page, "admin-model-schedule")
    page.get_by_role("dialog", name=f"Schedule: {hosted}").get_by_role("button", name="Close").click()
    wait_status(page, hosted, "InService")
    saved = admin.session.get(f"{admin.api}/models/{hosted}/schedule", timeout=30).json()
    assert saved["scheduling"]["dailySchedule"] == {"startTime": start, "stopTime": stop}

    model_row(page, hosted).get_by_role("button", name=f"Schedule of {hosted}").click()
    form = page.get_by_role("form", name=f"Schedule of {hosted}")
    expect(form.get_by_label("Schedule type")).to_have_value("RECURRING")
    form.get_by_role("button", name="Remove schedule").click()
    expect(page.get_by_text("No schedule: the model runs until it is stopped.")).to_be_visible()
    wait_status(page, hosted, "InService")
    assert admin.session.get(f"{admin.api}/models/{hosted}/schedule", timeout=30).json()["scheduling"] is None


def test_the_page_shows_the_gpu_capacity_left(new_page, local_stack, admin, hosted):
    capacity = admin.session.get(f"{admin.api}/models/metadata/capacity", timeout=30).json()
    page = _models_page(new_page, local_stack)
    expect(page.get_by_test_id("gpu-capacity")).to_contain_text(
        f"{capacity['remaining']} of {capacity['maxGpuInstances']} remaining")
