"""Model schedules (LISA v6): start and stop a hosted model at set times, so GPUs do not run all night.

    PUT|POST /models/{modelId}/schedule   body SchedulingConfig → {"message", "modelId", "scheduleEnabled"} (+ the next
                                          transitions); the model is Updating while its stack deploys the schedule
    GET    /models/{modelId}/schedule     → {"modelId", "scheduling", "nextScheduledAction"} (+ nextTransitions)
    DELETE /models/{modelId}/schedule     → {"message", "modelId", "scheduleEnabled": false}
    GET    /models/{modelId}/schedule/status → LISA's schedule status (configured, last failure, next action)

Admins change schedules; anyone who may use the model reads them. The schedule is kept in the model's
autoScalingConfig.scheduling, as LISA's; in AWS its stack holds the EventBridge schedules (providers/model_schedule.py),
locally the api's clock runs it (services/api/model_scheduler.py). Only hosted models have capacity to start and stop
(400 otherwise); a model in a transitional status answers 409. Errors are LISA's {"error", "message"}.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field

from core.access import may_use
from core.errors import InvalidInputError, ModelNotFoundError
from core.models import ModelRecord, begin_on
from core.schedules import NextScheduledAction, ScheduleFailure, SchedulingConfig, next_action, next_transitions
from core.schema import CamelModel
from services.api.audit_trail import audit
from services.api.contract import errors
from services.api.engine import DeploymentEngine
from services.api.model_scheduler import ModelScheduler
from services.identity.dependencies import require_admin, require_user
from services.identity.principal import Principal

router = APIRouter(tags=["models"])
MODEL_ID = Path(min_length=1, max_length=63)
UPCOMING = 6


class ScheduleUpdated(CamelModel):
    message: str
    model_id: str
    schedule_enabled: bool
    next_transitions: list[NextScheduledAction] = Field(default_factory=list)


class ScheduleView(SchedulingConfig):
    schedule_enabled: bool = True


class ModelScheduleResponse(CamelModel):
    model_id: str
    scheduling: ScheduleView | None = None
    next_scheduled_action: NextScheduledAction | None = None
    next_transitions: list[NextScheduledAction] = Field(default_factory=list, description=(
        f"the next {UPCOMING} starts and stops, in the schedule's time zone"))


class ScheduleStatus(CamelModel):
    """LISA's GET /models/{modelId}/schedule/status."""

    model_id: str
    schedule_enabled: bool
    schedule_configured: bool
    last_schedule_failed: bool
    schedule_status: str = Field(description="ACTIVE, FAILED or NOT_CONFIGURED")
    schedule_type: str | None = None
    timezone: str = "UTC"
    next_scheduled_action: NextScheduledAction | None = None
    last_schedule_update: str | None = None
    last_schedule_failure: ScheduleFailure | None = None
    last_scheduled_action: NextScheduledAction | None = None


def _engine(request: Request) -> DeploymentEngine:
    return request.app.state.engine


def _scheduler(request: Request) -> ModelScheduler:
    return request.app.state.scheduler


def _readable(request: Request, principal: Principal, model_id: str) -> ModelRecord:
    record = _engine(request).registry.get(model_id)
    if not may_use(principal.groups, record.allowed_groups, is_admin=principal.is_admin):
        raise ModelNotFoundError(model_id)  # as LISA: a model the caller may not use does not exist for them
    return record


def _scheduling(record: ModelRecord) -> SchedulingConfig | None:
    return record.auto_scaling_config.scheduling if record.auto_scaling_config else None


def _upcoming(request: Request, config: SchedulingConfig | None) -> list[NextScheduledAction]:
    if config is None:
        return []
    return [NextScheduledAction(action=t.action, scheduled_time=t.at.isoformat())
            for t in next_transitions(config, _scheduler(request).now(), UPCOMING)]


def _deploy_schedule(request: Request, admin: Principal, model_id: str, config: SchedulingConfig | None) -> ModelRecord:
    """Write the model's schedule and deploy it (its stack's EventBridge schedules) as an update of the model."""
    engine = _engine(request)
    record = engine.registry.get(model_id)
    if not record.is_hosted:
        raise InvalidInputError(f"model {model_id} is not hosted on this platform: only hosted models (with "
                                f"containerConfig) have instances to start and stop", param="modelId")
    status = begin_on(record, "update")
    scaling = record.auto_scaling_config.model_copy(update={"scheduling": config})
    saved = engine.registry.update(record.model_copy(update={"auto_scaling_config": scaling, "status": status}),
                                   expected={record.status})
    state = engine.registry.schedule_state(model_id)
    engine.registry.record_schedule_outcome(model_id, state.model_copy(update={
        "last_schedule_update": _scheduler(request).now().isoformat(), "last_schedule_failure": None}))
    engine.submit(model_id)
    if config is None:
        audit(request, admin, "model.schedule.delete", model_id)
    else:
        audit(request, admin, "model.schedule.update", model_id, scheduleType=config.schedule_type.value,
              timezone=config.timezone)
    return saved


def _put_schedule(config: SchedulingConfig, request: Request, model_id: str = MODEL_ID,
                  admin: Principal = Depends(require_admin)) -> ScheduleUpdated:
    _deploy_schedule(request, admin, model_id, config)
    return ScheduleUpdated(message="Schedule updated successfully", model_id=model_id, schedule_enabled=True,
                           next_transitions=_upcoming(request, config))


_PUT_DOC = dict(response_model=ScheduleUpdated, responses=errors(404, 409),
                summary="Set a hosted model's start/stop schedule (DAILY per weekday, or RECURRING every day)")
router.put("/models/{model_id}/schedule", **_PUT_DOC)(_put_schedule)
router.post("/models/{model_id}/schedule", **_PUT_DOC)(_put_schedule)


@router.get("/models/{model_id}/schedule", response_model=ModelScheduleResponse, responses=errors(404))
def get_schedule(request: Request, model_id: str = MODEL_ID,
                 principal: Principal = Depends(require_user)) -> ModelScheduleResponse:
    config = _scheduling(_readable(request, principal, model_id))
    if config is None:
        return ModelScheduleResponse(model_id=model_id)
    return ModelScheduleResponse(model_id=model_id, scheduling=ScheduleView(**dict(config)),
                                 next_scheduled_action=next_action(config, _scheduler(request).now()),
                                 next_transitions=_upcoming(request, config))


@router.delete("/models/{model_id}/schedule", response_model=ScheduleUpdated, responses=errors(404, 409))
def delete_schedule(request: Request, model_id: str = MODEL_ID,
                    admin: Principal = Depends(require_admin)) -> ScheduleUpdated:
    record = _engine(request).registry.get(model_id)
    if _scheduling(record) is not None:
        _deploy_schedule(request, admin, model_id, None)
    return ScheduleUpdated(message="Schedule deleted successfully", model_id=model_id, schedule_enabled=False)


@router.get("/models/{model_id}/schedule/status", response_model=ScheduleStatus, responses=errors(404))
def schedule_status(request: Request, model_id: str = MODEL_ID,
                    principal: Principal = Depends(require_user)) -> ScheduleStatus:
    config = _scheduling(_readable(request, principal, model_id))
    state = _engine(request).registry.schedule_state(model_id)
    failed = state.last_schedule_failure is not None
    return ScheduleStatus(
        model_id=model_id, schedule_enabled=config is not None, schedule_configured=config is not None,
        last_schedule_failed=failed,
        schedule_status="NOT_CONFIGURED" if config is None else ("FAILED" if failed else "ACTIVE"),
        schedule_type=config.schedule_type.value if config else None,
        timezone=config.timezone if config else "UTC",
        next_scheduled_action=next_action(config, _scheduler(request).now()) if config else None,
        last_schedule_update=state.last_schedule_update, last_schedule_failure=state.last_schedule_failure,
        last_scheduled_action=state.last_scheduled_action)
