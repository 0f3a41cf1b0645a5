"""The admin model-management API, as LISA's (admins only).

    GET    /models                       → {"models": [Model]}
    POST   /models                       body CreateModel (LISA's payload) → {"model": Model} with status Creating
    GET    /models/{modelId}             → {"model": Model}
    PUT    /models/{modelId}             body UpdateModel → {"model": Model} with status Updating/Stopping/Starting
    DELETE /models/{modelId}             → {"status": "success", "message": "Model X has been deleted successfully."}
Beyond LISA:
    POST /models?dryRun=true, PUT /models/{modelId}?dryRun=true   → {"preview": Preview}, nothing written
    GET    /models/{modelId}/preview     → {"preview": Preview} of re-applying the model as it is (drift check)
    GET    /models/{modelId}/events      ?after=<sequence> → {"events": [...]} the deployment engine's last events

Writes return at once; a background job deploys the model's stack and settles its status (InService, Stopped, or
Failed with `statusReason`). A delete returns at once too: the model shows `Deleting`, then is gone (404) once its
stack is destroyed and removed. Errors are LISA's {"error": "<Type>", "message": "..."}: ModelNotFoundError 404,
ModelAlreadyExistsError 400, InvalidInputError 400, ValidationError 422, ConflictError 409 (status forbids it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from core.errors import ConflictError, InvalidInputError, ModelAlreadyExistsError, ModelNotFoundError
from core.models import ModelRecord, ModelSpec, ModelStatus, UpdateModelRequest, apply_update, begin
from core.registry import ModelRegistry
from providers.hosted_model_plan import check_hosted_spec
from services.api.engine import DeploymentEngine, PreviewFailed
from core.access import may_use
from services.api.audit_trail import audit
from services.api.gpu_quota import check_fits
from services.identity.dependencies import require_admin, require_user
from services.identity.principal import Principal

router = APIRouter(tags=["models"])
Admin = Depends(require_admin)


def _engine(request: Request) -> DeploymentEngine:
    return request.app.state.engine


def _registry(request: Request) -> ModelRegistry:
    return _engine(request).registry


def _wire(record: ModelRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")


def _preview(engine: DeploymentEngine, record: ModelRecord, *, new_model: bool = False) -> dict[str, Any]:
    try:
        return {"preview": engine.preview(record, new_model=new_model)}
    except PreviewFailed as exc:
        raise InvalidInputError(f"the preview failed: {exc}") from None


@router.get("/models")
def list_models(request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    """Every model for admins; for anyone else only the models their groups may use (LISA's filter)."""
    records = _registry(request).list()
    return {"models": [_wire(r) for r in records if may_use(principal.groups, r.allowed_groups,
                                                                is_admin=principal.is_admin)]}


@router.post("/models")
def create_model(spec: ModelSpec, request: Request, dry_run: bool = Query(False, alias="dryRun"),
                 admin: Principal = Admin) -> dict[str, Any]:
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
    return {"model": _wire(record)}


@router.get("/models/{model_id}")
def get_model(model_id: str, request: Request, principal: Principal = Depends(require_user)) -> dict[str, Any]:
    record = _registry(request).get(model_id)
    if not may_use(principal.groups, record.allowed_groups, is_admin=principal.is_admin):
        raise ModelNotFoundError(model_id)  # as LISA: a model the caller may not use does not exist for them
    return {"model": _wire(record)}


def _action(update: UpdateModelRequest) -> str:
    if update.enabled is None:
        return "update"
    return "start" if update.enabled else "stop"


@router.put("/models/{model_id}")
def update_model(model_id: str, update: UpdateModelRequest, request: Request,
                 dry_run: bool = Query(False, alias="dryRun"),
                 admin: Principal = Admin) -> dict[str, Any]:
    engine, registry = _engine(request), _registry(request)
    record = registry.get(model_id)
    try:
        updated = apply_update(record, update)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if update.enabled or update.auto_scaling_instance_config is not None:
        check_fits(registry.list(), updated, engine.platform.max_gpu_instances)
    if dry_run:
        return _preview(engine, updated)
    try:
        status = begin(record.status, _action(update))
    except ValueError as exc:
        raise ConflictError(f"model {model_id}: {exc}") from None
    # Conditional on the status we read: a concurrent request cannot slip a second change in.
    saved = registry.update(updated.model_copy(update={"status": status}), expected={record.status})
    engine.submit(model_id)
    audit(request, admin, "model.update", model_id, changes=sorted(update.model_dump(exclude_none=True)))
    return {"model": _wire(saved)}


@router.delete("/models/{model_id}")
def delete_model(model_id: str, request: Request, admin: Principal = Admin) -> dict[str, Any]:
    engine, registry = _engine(request), _registry(request)
    record = registry.get(model_id)
    try:
        status = begin(record.status, "delete")
    except ValueError as exc:
        raise ConflictError(f"model {model_id}: {exc}") from None
    registry.update(record.model_copy(update={"status": status}), expected={record.status})
    engine.submit(model_id)
    audit(request, admin, "model.delete", model_id)
    return {"status": "success", "message": f"Model {model_id} has been deleted successfully."}


@router.get("/models/{model_id}/preview")
def preview_model(model_id: str, request: Request, admin: Principal = Admin) -> dict[str, Any]:
    return _preview(_engine(request), _registry(request).get(model_id))


@router.get("/models/{model_id}/events")
def model_events(model_id: str, request: Request, after: int = Query(0, ge=0),
                 admin: Principal = Admin) -> dict[str, Any]:
    engine = _engine(request)
    events = engine.events.of(model_id, after)
    if not events and not engine.busy(model_id):
        engine.registry.get(model_id)  # 404 for a model that does not exist
    return {"events": events}
