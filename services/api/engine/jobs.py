"""The deployment engine: background jobs that bring each model's stack to what its record says.

A job is "reconcile this model": it reads the record, and if the status is transitional it runs the stack
operation that status asks for (`up` for Creating/Updating/Starting/Stopping, `destroy` + `remove` for Deleting),
then settles the status (InService, Stopped, Failed with the reason; a finished delete removes the record). Since
a job only follows the record, it is idempotent: at start the engine resumes every model left transitional.
One job per model at a time (a request arriving meanwhile is run again after it), models in parallel.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from pulumi import automation as auto

from core import aws, naming
from core import secrets as secret_store
from core.errors import ConflictError, ModelNotFoundError
from core.leases import Lease, LeaseTimeout, Renewal
from core.models import TRANSITIONAL, DriftReport, ModelRecord, ModelStatus, ResourceDrift, settle
from core.platform import PlatformOutputs
from core.registry import ModelRegistry
from core.serve_heartbeats import ServeHeartbeats
from core.transient import retry_transient
from services.api.engine.events import EventLog, failure_reason, input_changes, summarize
from providers.hosted_model_plan import diff_hosted_model
from services.api.engine.program import ProgramContext, hosted_args, model_program
from services.api.engine.stacks import ModelStacks, describe_command_error

log = logging.getLogger("lisa.engine")
T = TypeVar("T")

_ACTIONS = {
    ModelStatus.CREATING: "create", ModelStatus.UPDATING: "update", ModelStatus.STARTING: "start",
    ModelStatus.STOPPING: "stop", ModelStatus.DELETING: "delete",
}


def _ours(summary: dict[str, Any]) -> bool:
    return not summary["resourceType"].startswith(("pulumi:pulumi:", "pulumi:providers:"))


class _Collector:
    """Feeds a model's event log during one operation and keeps its error diagnostics, its planned steps (with the
    declared properties each changes) and, for a refresh, the drift each resource's `read` found."""

    def __init__(self, events: EventLog, model_id: str) -> None:
        self.events, self.model_id = events, model_id
        self.errors: list[str] = []
        self.steps: list[dict[str, Any]] = []
        self.drift: dict[str, dict[str, Any]] = {}

    def __call__(self, event: auto.EngineEvent) -> None:
        summary = summarize(event)
        if summary is None:
            return
        if summary["type"] == "diagnostic" and summary["severity"] == "error":
            self.errors.append(summary["message"])
        if event.resource_pre_event and _ours(summary) and summary["op"] != "refresh":
            meta = event.resource_pre_event.metadata
            self.steps.append({"op": summary["op"], "resource": summary["resource"], "type": summary["resourceType"],
                               "diffs": list(meta.diffs or []), "replaces": list(meta.keys or []),
                               "changes": input_changes(meta.old.inputs if meta.old else None,
                                                        meta.new.inputs if meta.new else None)})
        if event.res_outputs_event and _ours(summary):
            new = event.res_outputs_event.metadata.new
            found = (new.outputs or {}).get("drift") if new else None
            if isinstance(found, list):  # the first per resource: in `up --refresh`, what the refresh found
                self.drift.setdefault(summary["resource"], {"resource": summary["resource"],
                                                            "type": summary["resourceType"], "differences": found})
        self.events.add(self.model_id, summary)


class DeploymentEngine:
    def __init__(self, platform: PlatformOutputs, stacks: ModelStacks, context: ProgramContext, *,
                 max_jobs: int = 16, events_per_model: int = 200, lease_ttl: float = 30.0,
                 aws_retry_s: float = 120.0, routing_ack_timeout_s: float = 60.0,
                 serve_stale_s: float = 30.0) -> None:
        self.platform = platform
        self.lease_ttl = lease_ttl
        self.aws_retry_s = aws_retry_s
        self.routing_ack_timeout_s = routing_ack_timeout_s
        self.stacks = stacks
        self.context = context
        self.registry = ModelRegistry(platform.tables.models)
        self.serve = ServeHeartbeats(platform.tables.models, stale_after=serve_stale_s)
        self.events = EventLog(events_per_model)
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="model-job")
        self._active: dict[str, bool] = {}  # model id → run again when done (a request arrived meanwhile)
        self._changed = threading.Condition()
        self._closed = False

    # scheduling ------------------------------------------------------------------------------------------------
    def submit(self, model_id: str, *, resumed: bool = False, wait_for_lease: bool = True) -> None:
        """Reconcile `model_id` in the background (again after the running job, if one is running).
        `wait_for_lease` False: leave the model at once to another api process that holds it (a sweep)."""
        with self._changed:
            if self._closed:
                return
            if model_id in self._active:
                self._active[model_id] = True
                return
            self._active[model_id] = False
        self._pool.submit(self._run, model_id, resumed, wait_for_lease)

    def busy(self, model_id: str) -> bool:
        with self._changed:
            return model_id in self._active

    def sweep(self) -> list[str]:
        """Submit every transitional model no job of this process runs: a status another writer set, or a job lost
        with another process."""
        picked = [r.model_id for r in self.registry.list() if r.status in TRANSITIONAL and not self.busy(r.model_id)]
        for model_id in picked:
            self.submit(model_id, wait_for_lease=False)
        return picked

    def resume(self) -> list[str]:
        """Submit every model a previous process left in a transitional status."""
        resumed = [r.model_id for r in self.registry.list() if r.status in TRANSITIONAL]
        for model_id in resumed:
            self.events.note(model_id, "resuming after a restart")
            self.submit(model_id, resumed=True)
        return resumed

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._active, timeout)

    def shutdown(self) -> None:
        with self._changed:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.stacks.close()

    def _aws(self, model_id: str, what: str, call: Callable[[], T]) -> T:
        """`call` through transient AWS failures (throttles, 5xx, lost connections) for up to `aws_retry_s`."""
        def noted(exc: BaseException, delay: float) -> None:
            self.events.note(model_id, f"AWS refused {what} ({aws.error_code(exc) or type(exc).__name__}); "
                                       f"trying again in {delay:.1f}s")

        return retry_transient(call, budget_s=self.aws_retry_s, on_retry=noted)

    def _run(self, model_id: str, resumed: bool, wait_for_lease: bool = True) -> None:
        # Across processes (a rolling deploy briefly runs two api tasks), a model's jobs hold a lease in the models
        # table; a crashed holder's lease runs out after `lease_ttl`, and only then may its stack lock be freed.
        lease = Lease(self.registry.table, f"model-job/{model_id}", ttl=self.lease_ttl,
                      timeout=self.lease_ttl * 3 if wait_for_lease else 0)
        try:
            self._aws(model_id, "the model's job lease", lease.acquire)
        except LeaseTimeout:
            self.events.note(model_id, "another control plane is deploying this model; leaving it to that one")
            self._done(model_id)
            return
        except Exception as exc:  # noqa: BLE001 (AWS kept refusing: the model must not stay transitional)
            self._give_up(model_id, f"AWS kept refusing the model's job lease: {_describe(exc)}")
            self._done(model_id)
            return
        renewal = lease.keep_alive()
        try:
            while True:
                try:
                    self._reconcile(model_id, resumed, renewal)
                except Exception:  # noqa: BLE001 (a job must never kill its worker; the record says what happened)
                    log.exception("model %s: the deployment job crashed", model_id)
                resumed = False
                if self._finish(model_id):
                    return
        finally:
            try:
                lease.release()
            except Exception as exc:  # noqa: BLE001 (it expires on its own)
                log.warning("model %s: could not release the job lease: %s", model_id, _describe(exc))

    def _done(self, model_id: str) -> None:
        with self._changed:
            self._active.pop(model_id, None)
            self._changed.notify_all()

    def _finish(self, model_id: str) -> bool:
        """True when no request arrived during the job (the model is done); else the job runs once more."""
        with self._changed:
            if not self._active.get(model_id):
                self._active.pop(model_id, None)
                self._changed.notify_all()
                return True
            self._active[model_id] = False
            return False

    def _claim(self, model_id: str) -> None:
        with self._changed:
            if model_id in self._active:
                raise ConflictError(f"a deployment of model {model_id} is in progress; try again when it has finished")
            self._active[model_id] = False

    def _release(self, model_id: str) -> None:
        with self._changed:
            rerun = self._active.pop(model_id, False)
            self._changed.notify_all()
        if rerun:
            self.submit(model_id)

    def _give_up(self, model_id: str, reason: str) -> None:
        """Settle a transitional model to Failed with `reason`; if even that write fails, try the job again later
        (a model must never stay transitional until the next restart)."""
        try:
            self._aws(model_id, "the Failed status", lambda: self.registry.set_status(
                model_id, ModelStatus.FAILED, expected=TRANSITIONAL, reason=reason))
        except (ConflictError, ModelNotFoundError):
            return
        except Exception as exc:  # noqa: BLE001
            log.error("model %s: could not record Failed (%s); trying again in %.0fs", model_id, _describe(exc),
                      self.aws_retry_s)
            timer = threading.Timer(self.aws_retry_s, self.submit, args=(model_id,))
            timer.daemon = True
            timer.start()
            return
        self.events.note(model_id, f"Failed: {reason}", status=ModelStatus.FAILED.value)

    # one job ---------------------------------------------------------------------------------------------------
    def _reconcile(self, model_id: str, resumed: bool, renewal: Renewal) -> None:
        try:
            record = self._aws(model_id, "reading the model record", lambda: self.registry.get(model_id))
        except ModelNotFoundError:
            return
        except Exception as exc:  # noqa: BLE001
            self._give_up(model_id, f"the deployment job could not read the model record: {_describe(exc)}")
            return
        if record.status not in TRANSITIONAL:
            return
        stack_name = self.platform.model_stack_name(model_id)
        action = _ACTIONS[record.status]
        self.events.note(model_id, f"{action} started", status=record.status.value)
        collector = _Collector(self.events, model_id)
        try:
            if resumed:
                self.stacks.cancel(stack_name)  # the killed process may have left the stack locked
            if record.status is ModelStatus.DELETING:
                self._unlocked(stack_name, lambda: self._delete(record, stack_name, collector))
                return
            refresh = self._aws(model_id, "reading the reconcile request",
                                lambda: self.registry.take_refresh_request(model_id))
            self._unlocked(stack_name, lambda: self.stacks.up(stack_name, self._program(record), collector,
                                                              refresh=refresh))
            if refresh:
                self._reconciled(record, collector)
        except Exception as exc:  # noqa: BLE001 (any failure becomes the model's Failed reason)
            reason = failure_reason(collector.errors, describe_command_error(exc))
            self._settle(record, renewal, succeeded=False, reason=f"{action} failed: {reason}")
            return
        registration = self._aws(model_id, "reading the registration",
                                 lambda: self.registry.get_registration(model_id))
        if record.enabled and registration is None:
            rule = self.context.readiness
            self._settle(record, renewal, succeeded=False, reason=(
                f"{action} failed: the model did not become ready within {rule.timeout_seconds}s "
                f"(readiness rule '{rule.rule}': its tasks must run and pass the load balancer health check)"))
            return
        behind = self._wait_routed(model_id)
        if behind:
            self._settle(record, renewal, succeeded=False, reason=f"{action} failed: {behind}")
            return
        self._settle(record, renewal, succeeded=True)

    def _reconciled(self, record: ModelRecord, collector: _Collector) -> None:
        """A reconcile ran `up --refresh`: say what its refresh found, and that the stack now matches again."""
        found = [r for r in collector.drift.values() if r["differences"]]
        for resource in found:
            self.events.add(record.model_id, {"type": "drift", "resource": resource["resource"],
                                              "differences": resource["differences"][:20], "reconciled": True})
        self.events.note(record.model_id, f"reconciled: {sum(len(r['differences']) for r in found)} difference(s) "
                                          f"put back as declared")
        report = DriftReport(model_id=record.model_id, checked_at=time.time(), drifted=False)
        self._aws(record.model_id, "recording the drift check", lambda: self.registry.record_drift(report))

    def _unlocked(self, stack_name: str, operation: Callable[[], T]) -> T:
        """Run a stack operation; if a lock left by a killed run refuses it, free the lock and run it once more.
        Safe: this process holds the model's job lease, so no other api process is running this stack."""
        try:
            return operation()
        except auto.ConcurrentUpdateError:
            self.stacks.cancel(stack_name)
            return operation()

    def _wait_routed(self, model_id: str) -> str | None:
        """Wait until every serve worker routes what the registration wrote (their heartbeats in the models table
        say which registry version each routes); why not, when `routing_ack_timeout_s` runs out first."""
        version = self._aws(model_id, "reading the registry version", self.registry.version)
        laggards = self.serve.wait_routed(version, self.routing_ack_timeout_s,
                                          read=lambda: self._aws(model_id, "reading serve's heartbeats",
                                                                 self.serve.read))
        if not laggards:
            return None
        behind = ", ".join(f"{lag.instance} at {lag.version}" for lag in laggards[:5])
        return (f"serve did not route the change within {self.routing_ack_timeout_s:g}s: "
                f"{len(laggards)} worker(s) still below registry version {version} ({behind})")

    def replacements(self, before: ModelRecord, after: ModelRecord) -> list[str]:
        """The inputs whose change from `before` to `after` replaces the hosted model (the provider's own diff)."""
        if not (before.is_hosted and after.is_hosted):
            return []
        old, new = hosted_args(before, self.context).props(), hosted_args(after, self.context).props()
        return diff_hosted_model(old, new).replaces

    def _program(self, record: ModelRecord) -> Callable[[], None]:
        return model_program(record, self.context, api_key_secret_id=self.api_key_secret(record.model_id))

    def _delete(self, record: ModelRecord, stack_name: str, collector: _Collector) -> None:
        self.stacks.destroy_and_remove(stack_name, collector)
        self._delete_api_key(record.model_id)
        self.registry.delete(record.model_id)
        self.events.note(record.model_id, "deleted")

    def _settle(self, record: ModelRecord, renewal: Renewal, *, succeeded: bool, reason: str | None = None) -> None:
        if renewal.lost.is_set():
            # Another api process holds the model now and runs its own job: it settles the status, not us.
            self.events.note(record.model_id, "the job lease was lost; leaving the model to its new holder")
            return
        status = settle(record.status, succeeded=succeeded, enabled=record.enabled)
        try:
            self._aws(record.model_id, f"the {status.value} status", lambda: self.registry.set_status(
                record.model_id, status, expected={record.status}, reason=reason))
        except (ConflictError, ModelNotFoundError) as exc:
            log.warning("model %s: could not record %s: %s", record.model_id, status, exc)
            return
        except Exception as exc:  # noqa: BLE001 (AWS kept refusing: say Failed with why, or retry the job later)
            self._give_up(record.model_id, f"the deployment finished but its status could not be recorded: "
                                           f"{_describe(exc)}")
            return
        self.events.note(record.model_id, f"{status.value}" + (f": {reason}" if reason else ""), status=status.value)

    # API keys of LiteLLM-only models ---------------------------------------------------------------------------
    def api_key_secret_name(self, model_id: str) -> str:
        return naming.model_api_key_secret(self.platform.deployment_name, self.platform.deployment_stage, model_id)

    def api_key_secret(self, model_id: str) -> str | None:
        name = self.api_key_secret_name(model_id)
        return name if secret_store.exists(name) else None

    def store_api_key(self, model_id: str, api_key: str) -> None:
        secret_store.put(self.api_key_secret_name(model_id), api_key, description=f"API key of LISA model {model_id}")

    def _delete_api_key(self, model_id: str) -> None:
        secret_store.delete(self.api_key_secret_name(model_id))

    # drift -----------------------------------------------------------------------------------------------------
    def check_drift(self, model_id: str) -> DriftReport:
        """Refresh the model's stack in preview mode (each resource's `read` against AWS, nothing written to the
        state nor to AWS) and record what differs, per resource and property. ConflictError while a job runs."""
        record = self.registry.get(model_id)
        stack_name = self.platform.model_stack_name(model_id)
        self._claim(model_id)
        try:
            collector = _Collector(self.events, model_id)
            try:
                self.stacks.preview_refresh(stack_name, self._program(record), collector)
            except auto.StackNotFoundError:
                raise ConflictError(f"model {model_id} has no deployed stack to compare yet") from None
            except Exception as exc:  # noqa: BLE001
                raise PreviewFailed(failure_reason(collector.errors, describe_command_error(exc))) from exc
        finally:
            self._release(model_id)
        resources = [ResourceDrift.model_validate(r) for r in collector.drift.values()]
        report = DriftReport(model_id=model_id, checked_at=time.time(),
                             drifted=any(r.differences for r in resources), resources=resources)
        self.registry.record_drift(report)
        count = report.summary.differences
        self.events.add(model_id, {"type": "drift", "message": f"drift check: {count} difference(s)",
                                   "differences": count})
        return report

    def check_all_drift(self) -> dict[str, int]:
        """One scheduled pass: every settled model not being deployed (model id → differences found)."""
        found: dict[str, int] = {}
        for record in self.registry.list():
            if record.status not in (ModelStatus.IN_SERVICE, ModelStatus.STOPPED) or self.busy(record.model_id):
                continue
            try:
                found[record.model_id] = self.check_drift(record.model_id).summary.differences
            except Exception as exc:  # noqa: BLE001 (one model's failure must not stop the pass)
                log.warning("model %s: drift check failed: %s", record.model_id, _describe(exc))
        return found

    # previews --------------------------------------------------------------------------------------------------
    def preview(self, record: ModelRecord, *, new_model: bool = False) -> dict[str, Any]:
        """The Pulumi preview of deploying `record` (which need not be saved): what would be created/changed."""
        model_id = record.model_id
        stack_name = self.platform.model_stack_name(model_id)
        self._claim(model_id)
        try:
            return preview_stack(self.stacks, stack_name, lambda: self._program(record),
                                 _Collector(self.events, model_id), new=new_model)
        finally:
            self._release(model_id)


class PreviewFailed(Exception):
    pass


def preview_stack(stacks: ModelStacks, stack_name: str, make_program: Callable[[], Callable[[], None]],
                  collector: _Collector, *, new: bool) -> dict[str, Any]:
    """The Pulumi preview of the program `make_program` builds, on a stack (model or repository): its change summary
    and planned steps, or PreviewFailed with the reason (building the program included). A stack made only for this
    preview (`new`) is removed again."""
    try:
        program = make_program()  # may probe the outside (an embedding model): a refusal needs no stack
    except Exception as exc:  # noqa: BLE001
        raise PreviewFailed(describe_command_error(exc)) from exc
    try:
        result = stacks.preview(stack_name, program, collector)
    except Exception as exc:  # noqa: BLE001
        raise PreviewFailed(failure_reason(collector.errors, describe_command_error(exc))) from exc
    finally:
        if new:
            stacks.remove_if_empty(stack_name)
    return {"changeSummary": {str(k.value if hasattr(k, "value") else k): v
                              for k, v in (result.change_summary or {}).items()},
            "steps": collector.steps}


def _describe(exc: BaseException) -> str:
    code = aws.error_code(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{code}: {text}"[:500] if code and code not in text else text[:500]
