"""The api's model scheduler: runs each model's scheduled starts and stops (LISA v6 schedules).

A transition is exactly what PUT /models/{id} with `enabled: false|true` does: the record turns Stopping (enabled
false: the stack scales the model to zero and withdraws its registration) or Starting (enabled true), and a
deployment job settles it. Two sources ask for one, through the same `transition`:
- in AWS, the model's EventBridge schedules write `scheduledAction` to its item (providers/model_schedule.py); each
  tick takes those requests (`run_requests`);
- locally (no scheduler fires in the emulator), the api's own clock: each tick runs the transition due between the
  previous tick and now (`run_clock`). The clock's position is kept in the models table, so several api processes
  run each stretch once and a restart resumes where the clock stood (a pause of over a week counts from a week ago).
A transition the model's status forbids (it is being updated, say) is skipped and kept as the schedule's last
failure (LISA's lastScheduleFailure); every transition is audited with the scheduler as the actor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

from core.errors import LisaError, ModelNotFoundError
from core.models import ModelRecord, ModelStatus, UpdateModelRequest, apply_update, begin_on
from core.schedules import NextScheduledAction, ScheduleAction, ScheduleFailure, ScheduleState, due, utc_now
from services.api.engine import DeploymentEngine
from services.api.gpu_quota import check_fits
from services.governance.audit import AuditEvent, AuditLog

log = logging.getLogger("lisa.scheduler")
SCHEDULER_ACTOR = "model-scheduler"
Source = Literal["clock", "eventbridge"]


def uses_clock(setting: str, endpoint_override: str | None) -> bool:
    """`auto`: the api's clock against an emulator (its schedules never fire), EventBridge in AWS."""
    if setting == "auto":
        return bool(endpoint_override)
    return setting == "clock"


@dataclass(frozen=True)
class Outcome:
    model_id: str
    action: ScheduleAction
    result: Literal["started", "stopped", "unchanged", "failed", "ignored"]
    detail: str = ""


class ModelScheduler:
    def __init__(self, engine: DeploymentEngine, *, use_clock: bool, audit: Callable[[], AuditLog | None] = lambda: None,
                 now: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.registry = engine.registry
        self.use_clock = use_clock
        self.now = now
        self._audit = audit

    def tick(self) -> list[Outcome]:
        """One pass (blocking: run it in a thread): the requests EventBridge left, then the clock's due transitions."""
        outcomes = self.run_requests()
        if self.use_clock:
            outcomes += self.run_clock()
        return outcomes

    def run_clock(self) -> list[Outcome]:
        now = self.now()
        before = self.registry.advance_schedule_clock(now.timestamp())
        if before is None:
            return []
        after = datetime.fromtimestamp(before, timezone.utc)
        outcomes = []
        for record in self.registry.list():
            config = record.auto_scaling_config.scheduling if record.auto_scaling_config else None
            if config is None:
                continue
            found = due(config, after, now)
            if found is not None:
                outcomes.append(self.transition(record.model_id, found.action, found.at, source="clock"))
        return outcomes

    def run_requests(self) -> list[Outcome]:
        outcomes = []
        for model_id, request in self.registry.scheduled_requests():
            if not self.registry.take_scheduled_request(model_id, request):
                continue  # another api process took it
            try:
                action = ScheduleAction(str(request.get("action", "")).upper())
                at = datetime.fromisoformat(str(request.get("at", "")).replace("Z", "+00:00"))
            except ValueError:
                log.warning("model %s: ignoring a malformed scheduled request", model_id)
                continue
            outcomes.append(self.transition(model_id, action, at, source="eventbridge"))
        return outcomes

    def transition(self, model_id: str, action: ScheduleAction, at: datetime, *, source: Source) -> Outcome:
        """Start or stop the model as PUT `enabled` does; what happened, recorded on the model and in the audit."""
        try:
            record = self.registry.get(model_id)
        except ModelNotFoundError:
            return Outcome(model_id, action, "ignored", "the model is gone")
        if record.auto_scaling_config is None or record.auto_scaling_config.scheduling is None:
            return Outcome(model_id, action, "ignored", "the model has no schedule")  # a request older than a DELETE
        due_at = NextScheduledAction(action=action, scheduled_time=at.isoformat())
        try:
            outcome = self._apply(record, action)
        except (LisaError, ValueError) as exc:
            outcome = Outcome(model_id, action, "failed", str(exc))
        state = self.registry.schedule_state(model_id)
        failure = state.last_schedule_failure
        if outcome.result == "failed":
            retries = failure.retry_count + 1 if failure else 0
            failure = ScheduleFailure(timestamp=self.now().isoformat(), error=outcome.detail[:500], retry_count=retries)
        else:
            failure = None
        try:
            self.registry.record_schedule_outcome(model_id, state.model_copy(update={
                "last_scheduled_action": due_at, "last_schedule_failure": failure}))
        except ModelNotFoundError:
            pass
        self._record(outcome, source, due_at)
        return outcome

    def _apply(self, record: ModelRecord, action: ScheduleAction) -> Outcome:
        start = action is ScheduleAction.START
        if record.enabled == start and record.status is not ModelStatus.FAILED:
            return Outcome(record.model_id, action, "unchanged", f"already {record.status.value}")
        updated = apply_update(record, UpdateModelRequest(enabled=start))
        if start:
            check_fits(self.registry.list(), updated, self.engine.platform.max_gpu_instances)
        status = begin_on(record, "start" if start else "stop")
        self.registry.update(updated.model_copy(update={"status": status}), expected={record.status})
        self.engine.submit(record.model_id)
        return Outcome(record.model_id, action, "started" if start else "stopped")

    def _record(self, outcome: Outcome, source: Source, due_at: NextScheduledAction) -> None:
        if outcome.result == "ignored":
            return
        audit = self._audit()
        if audit is not None:
            audit.record(AuditEvent(
                action=f"model.schedule.{outcome.action.value.lower()}",
                outcome="failed" if outcome.result == "failed" else "success",
                actor_id=SCHEDULER_ACTOR, actor_name=SCHEDULER_ACTOR, target=outcome.model_id,
                details={"source": source, "result": outcome.result, "due": due_at.scheduled_time,
                         **({"reason": outcome.detail} if outcome.detail else {})}))
        log.info("model %s: scheduled %s %s (%s)%s", outcome.model_id, outcome.action.value, outcome.result, source,
                 f": {outcome.detail}" if outcome.detail else "")
