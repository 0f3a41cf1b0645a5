"""The model-management API, as LISA's (admins change; everyone lists and reads the models their groups allow).

    GET    /models                        → {"models": [Model]}
    POST   /models                        body CreateModel (LISA's payload) → {"model": Model} with status Creating
    GET    /models/{modelId}              → {"model": Model}
    PUT    /models/{modelId}              body UpdateModel → {"model": Model} (Updating/Stopping/Starting, or as it was
                                          for a change of description, features or context window only)
    DELETE /models/{modelId}              → {"status": "success", "message": "Model X has been deleted successfully."}
    PUT    /models/{modelId}/context-window  {"contextWindow": n} → {"model": Model}
    GET    /models/metadata/instances     → ["g5.xlarge", …] the instance types a model may run on in this region
Beyond LISA:
    POST /models?dryRun=true, PUT /models/{modelId}?dryRun=true  → {"preview": Preview}: the Pulumi diff, nothing
        written; a change that replaces the hosted model (instanceType, inferenceContainer) lists `replaces` and
        is refused without ?allowReplace=true
    GET    /models/{modelId}/preview      → {"preview": Preview} of re-applying the model as it is
    GET    /models/{modelId}/drift        → {"drift": DriftReport}: a refresh in preview mode, per resource and
                                          property (?last=true: the last check, without running one)
    POST   /models/{modelId}/reconcile    → {"model": Model} Updating: `up --refresh` puts drift back as declared
    GET    /models/{modelId}/events       ?after=<sequence> → {"events": [...]} the deployment engine's last events
    GET    /models/metadata/instance-types → {"instanceTypes": [{instanceType, gpus, vcpus, memoryGib}]}
    GET    /models/metadata/capacity      → {maxGpuInstances, used, remaining, byModel}

Writes return at once; a background job deploys the model's stack and settles its status (InService, Stopped, or
Failed with `statusReason`). Errors are LISA's {"error": "<Type>", "message": "..."}: ModelNotFoundError 404,
ModelAlreadyExistsError 400, InvalidInputError 400, ValidationError 422, ConflictError 409 (status forbids it).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Path, Query, Request

from core.access import may_use
from core.errors import ConflictError, InvalidInputError, ModelAlreadyExistsError, ModelNotFoundError
from core.models import (
    TRANSITIONAL,
    ModelRecord,
    ModelSpec,
    ModelStatus,
    UpdateModelRequest,
    apply_update,
    begin_on,
    deploys,
)
from core.registry import ModelRegistry
from providers.hosted_model_plan import check_hosted_spec
from services.api.audit_trail import audit
from services.api.contract import errors
from services.api.engine import DeploymentEngine, PreviewFailed
from services.api.gpu_quota import check_fits, usage
from services.api.model_wire import (
    ContextWindowRequest,
    DeletedModel,
    DriftResponse,
    EventList,
    GpuCapacity,
    InstanceTypes,
    ModelList,
    ModelResponse,
    ModelPreview,
    ModelPreviewResponse,
)
from services.identity.dependencies import require_admin, require_user
from services.identity.principal import Principal

router = APIRouter(tags=["models"])
Admin = Depends(require_admin)
MODEL_ID = Path(min_length=1, max_length=63)
DRY_RUN = Query(False, alias="dryRun", description="answer the Pulumi preview of the change; write nothing")


def _engine(request: Request) -> DeploymentEngine:
    return request.app.state.engine


def _registry(request: Request) -> ModelRegistry:
    return _engine(request).registry


def _preview(engine: DeploymentEngine, record: ModelRecord, *, new_model: bool = False,
             replaces: list[str] | None = None) -> ModelPreviewResponse:
    try:
        preview = engine.preview(record, new_model=new_model)
    except PreviewFailed as exc:
        raise InvalidInputError(f"the preview failed: {exc}") from None
    return ModelPreviewResponse(preview=ModelPreview.model_validate({**preview, "replaces": replaces or []}))


def _visible(principal: Principal, record: ModelRecord) -> bool:
    return may_use(principal.groups, record.allowed_groups, is_admin=principal.is_admin)


# Catalogue (before /models/{modelId}: these paths are not model ids) ------------------------------------------
@router.get("/models/metadata/instances", response_model=list[str], responses=errors())
async def instance_names(request: Request, principal: Principal = Depends(require_user)) -> list[str]:
    """LISA's list of instance type names: those this platform can size that the region offers."""
    return await asyncio.to_thread(request.app.state.instances.names)


@router.get("/models/metadata/instance-types", response_model=InstanceTypes, responses=errors())
async def instance_types(request: Request, principal: Principal = Depends(require_user)) -> InstanceTypes:
    return InstanceTypes(instance_types=await asyncio.to_thread(request.app.state.instances.details))


@router.get("/models/metadata/capacity", response_model=GpuCapacity, responses=errors())
def gpu_capacity(request: Request, admin: Principal = Admin) -> GpuCapacity:
    engine = _engine(request)
    used = usage(engine.registry.list(), engine.platform.max_gpu_instances)
    return GpuCapacity(max_gpu_instances=used.limit, used=used.used, remaining=used.remaining, by_model=used.by_model)


# Models -----------------------------------------------------------------------------------------------------------
@router.get("/models", response_model=ModelList, responses=errors())
def list_models(request: Request, principal: Principal = Depends(require_user)) -> ModelList:
    """Every model for admins; for anyone else only the models their groups may use (LISA's filter)."""
    return ModelList(models=[r for r in _registry(request).list() if _visible(principal, r)])


@router.post("/models", response_model=ModelResponse | ModelPreviewResponse, responses=errors(409))
def create_model(spec: ModelSpec, request: Request, dry_run: bool = DRY_RUN,
                 admin: Principal = Admin) -> ModelResponse | ModelPreviewResponse:
    engine, registry = _engine(request), _registry(request)
    platform = engine.platform
    try:
        check_hosted_spec(spec, platform.model_hosting.image_repository_arns)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    record = ModelRecord.model_validate({**spec.model_dump(by_alias=False), "status": ModelStatus.CREATING})
    check_fits(registry.list(), record, platform.max_gpu_instances)
    if dry_run:
        try:
            registry.get(spec.model_id)
            raise ModelAlreadyExistsError(spec.model_id)
        except ModelNotFoundError:
            return _preview(engine, record, new_model=True)
    record = registry.create(record)  # conditional: of many concurrent creates of one id, one wins
    if spec.api_key is not None:
        try:
            engine.store_api_key(spec.model_id, spec.api_key.get_secret_value())
        except Exception:
            registry.delete(spec.model_id)  # the create did not happen: nothing half-made stays behind
            raise
    engine.submit(spec.model_id)
    audit(request, admin, "model.create", spec.model_id, modelName=spec.model_name, hosted=spec.is_hosted)
    return ModelResponse(model=record)


@router.get("/models/{model_id}", response_model=ModelResponse, responses=errors(404))
def get_model(request: Request, model_id: str = MODEL_ID,
              principal: Principal = Depends(require_user)) -> ModelResponse:
    record = _registry(request).get(model_id)
    if not _visible(principal, record):
        raise ModelNotFoundError(model_id)  # as LISA: a model the caller may not use does not exist for them
    return ModelResponse(model=record)


def _action(update: UpdateModelRequest) -> str:
    if update.enabled is None:
        return "update"
    return "start" if update.enabled else "stop"


@router.put("/models/{model_id}", response_model=ModelResponse | ModelPreviewResponse,
            responses=errors(404, 409))
def update_model(update: UpdateModelRequest, request: Request, model_id: str = MODEL_ID, dry_run: bool = DRY_RUN,
                 allow_replace: bool = Query(False, alias="allowReplace", description=(
                     "accept a change that replaces the hosted model (it is unavailable until made again)")),
                 admin: Principal = Admin) -> ModelResponse | ModelPreviewResponse:
    engine, registry = _engine(request), _registry(request)
    record = registry.get(model_id)
    try:
        updated = apply_update(record, update)
        check_hosted_spec(updated.spec, engine.platform.model_hosting.image_repository_arns)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if update.enabled or update.auto_scaling_instance_config is not None:
        check_fits(registry.list(), updated, engine.platform.max_gpu_instances)
    replaces = engine.replacements(record, updated)
    if dry_run:
        return _preview(engine, updated, replaces=replaces)
    if replaces and not allow_replace:
        raise InvalidInputError(
            f"this change replaces the hosted model ({', '.join(replaces)}): its instances are destroyed and made "
            f"again, so it serves nothing meanwhile; preview it with ?dryRun=true and send it with "
            f"?allowReplace=true", param="allowReplace")
    status = begin_on(record, _action(update))
    changes = sorted(update.model_dump(exclude_none=True))
    if not deploys(record, updated):
        # Description, features, context window: the record only (nothing serve or AWS holds changes).
        saved = registry.update(updated, expected={record.status})
        audit(request, admin, "model.update", model_id, changes=changes)
        return ModelResponse(model=saved)
    # Conditional on the status we read: a concurrent request cannot slip a second change in.
    saved = registry.update(updated.model_copy(update={"status": status}), expected={record.status})
    engine.submit(model_id)
    audit(request, admin, "model.update", model_id, changes=changes, replaces=replaces)
    return ModelResponse(model=saved)


@router.put("/models/{model_id}/context-window", response_model=ModelResponse, responses=errors(404, 409))
def update_context_window(body: ContextWindowRequest, request: Request, model_id: str = MODEL_ID,
                          admin: Principal = Admin) -> ModelResponse:
    registry = _registry(request)
    record = registry.get(model_id)
    if record.status in TRANSITIONAL:
        raise ConflictError(f"model {model_id} is {record.status.value}; try again when it has settled")
    saved = registry.update(record.model_copy(update={"context_window": body.context_window}),
                            expected={record.status})
    audit(request, admin, "model.update", model_id, changes=["contextWindow"])
    return ModelResponse(model=saved)


@router.delete("/models/{model_id}", response_model=DeletedModel, responses=errors(404, 409))
def delete_model(request: Request, model_id: str = MODEL_ID, admin: Principal = Admin) -> DeletedModel:
    engine, registry = _engine(request), _registry(request)
    record = registry.get(model_id)
    status = begin_on(record, "delete")
    registry.update(record.model_copy(update={"status": status}), expected={record.status})
    engine.submit(model_id)
    audit(request, admin, "model.delete", model_id)
    return DeletedModel(message=f"Model {model_id} has been deleted successfully.")


# The stack behind a model -----------------------------------------------------------------------------------
@router.get("/models/{model_id}/preview", response_model=ModelPreviewResponse,
            responses=errors(404, 409))
def preview_model(request: Request, model_id: str = MODEL_ID, admin: Principal = Admin) -> ModelPreviewResponse:
    return _preview(_engine(request), _registry(request).get(model_id))


@router.get("/models/{model_id}/drift", response_model=DriftResponse, responses=errors(404, 409))
def model_drift(request: Request, model_id: str = MODEL_ID,
                last: bool = Query(False, description="the last check's report, without running a new one"),
                admin: Principal = Admin) -> DriftResponse:
    engine = _engine(request)
    if last:
        engine.registry.get(model_id)  # 404 for an unknown model
        report = engine.registry.last_drift(model_id)
        if report is None:
            raise ConflictError(f"model {model_id} has not been checked for drift yet")
        return DriftResponse(drift=report)
    record = engine.registry.get(model_id)
    if record.status in TRANSITIONAL or engine.busy(model_id):
        raise ConflictError(f"model {model_id} is {record.status.value}; check it once it has settled")
    try:
        report = engine.check_drift(model_id)
    except PreviewFailed as exc:
        raise InvalidInputError(f"the drift check failed: {exc}") from None
    audit(request, admin, "model.drift", model_id, differences=report.summary.differences)
    return DriftResponse(drift=report)


@router.post("/models/{model_id}/reconcile", response_model=ModelResponse, responses=errors(404, 409))
def reconcile_model(request: Request, model_id: str = MODEL_ID, admin: Principal = Admin) -> ModelResponse:
    """Put every part back as declared: the model's stack is refreshed and updated (`up --refresh`)."""
    engine, registry = _engine(request), _registry(request)
    record = registry.get(model_id)
    status = begin_on(record, "update")
    registry.request_refresh(model_id)
    saved = registry.update(record.model_copy(update={"status": status}), expected={record.status})
    engine.submit(model_id)
    audit(request, admin, "model.reconcile", model_id)
    return ModelResponse(model=saved)


@router.get("/models/{model_id}/events", response_model=EventList, responses=errors(404))
def model_events(request: Request, model_id: str = MODEL_ID, after: int = Query(0, ge=0),
                 admin: Principal = Admin) -> EventList:
    engine = _engine(request)
    events = engine.events.of(model_id, after)
    if not events and not engine.busy(model_id):
        engine.registry.get(model_id)  # 404 for a model that does not exist
    return EventList(events=events)
