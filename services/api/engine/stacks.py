"""One Pulumi stack per model, driven through the Automation API with the real Pulumi CLI.

Each model gets its own workspace folder (concurrent `stack init/select` in one folder can corrupt the workspace
file). The stack's state lives in the backend (the deployment-state bucket in AWS, a folder locally); the
workspace folder only holds Pulumi.yaml and can be rebuilt at any time.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

from botocore.exceptions import ClientError
from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode  # not re-exported; Stack's own constructor takes it

from core import aws, naming
from core.platform import PlatformOutputs
from services.api.engine import pulumi_internals
from services.api.engine.pulumi_internals import REPO_ROOT, LeanStack, SharedProviderHost

log = logging.getLogger("lisa.engine")

PROJECT = "lisa-models"

OnEvent = Callable[[auto.EngineEvent], None]


def default_backend_url(platform: PlatformOutputs, endpoint: str | None) -> str:
    """The deployment-state bucket; against an emulator the S3 client needs its endpoint and path-style URLs."""
    url = f"s3://{platform.buckets.deployment_state}"
    if endpoint:
        query = {"endpoint": endpoint, "use_path_style": "true", "region": platform.region}
        if endpoint.startswith("http://"):
            query["disable_https"] = "true"
        url += "?" + urlencode(query)
    return url


def stage_key_secrets_provider(platform: PlatformOutputs, endpoint: str | None) -> str | None:
    """The stage's KMS key as the Pulumi secrets provider (what the control plane sets in AWS), when the key exists.

    The passphrase provider derives its key with PBKDF2 (1,000,000 rounds) in every CLI run: ~0.28 CPU-s per run,
    twice per model create. With KMS a run costs one Decrypt of the stack's data key instead. Only new stacks take
    it; a stack keeps the provider it was made with. No key (an emulator provisioned before it had one): None, the
    passphrase."""
    alias = naming.stage_key_alias(platform.deployment_name, platform.deployment_stage)
    try:
        aws.client("kms").describe_key(KeyId=alias)
    except ClientError as exc:
        if aws.error_code(exc) not in {"NotFoundException", "AccessDeniedException"}:
            raise
        return None
    query = {"region": platform.region, **({"endpoint": endpoint} if endpoint else {})}
    return f"awskms://{alias}?{urlencode(query)}"


def workspace_env(*, passphrase: str, pulumi_bin: Path | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What the CLI and the dynamic-provider processes it starts need on top of this process's environment."""
    path = os.environ.get("PATH", "")
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        # The provider host runs `$PULUMI_PYTHON_CMD -m pulumi.dynamic`: our interpreter, able to import providers/.
        "PULUMI_PYTHON_CMD": sys.executable,
        "PYTHONPATH": pythonpath,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS": "true",
        "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
        # The state is written once at the end of each operation instead of after every step (one S3 PUT, not one
        # per step). Safe because every create in providers/ is an upsert by a name derived from the model (or
        # repository): an operation killed midway leaves the state as before it, and the next `up` adopts what it
        # had made; deletes treat "already gone" as done. The cost of a crash is that re-run, not an orphan.
        "PULUMI_SKIP_CHECKPOINTS": "true",
    }
    if pulumi_bin is not None:
        env["PATH"] = f"{pulumi_bin}{os.pathsep}{path}"
    return {**env, **(extra or {})}


class ModelStacks:
    def __init__(self, *, backend_url: str, work_dir: Path, passphrase: str, pulumi_root: Path | None = None,
                 pulumi_home: Path | None = None, secrets_provider: str | None = None,
                 shared_provider_host: bool = True) -> None:
        self.backend_url = backend_url
        if backend_url.startswith("file://"):  # the CLI wants the state folder to exist
            Path(backend_url.removeprefix("file://").split("?", 1)[0]).mkdir(parents=True, exist_ok=True)
        self.work_dir = work_dir
        self.secrets_provider = secrets_provider
        self.pulumi_home = str(pulumi_home) if pulumi_home else None
        # Runs `pulumi version` once, not once per workspace; the engine's patches fit one SDK and one CLI.
        self.command = auto.PulumiCommand(root=str(pulumi_root)) if pulumi_root else auto.PulumiCommand()
        pulumi_internals.check_versions(self.command.version)
        pulumi_internals.guard_serialize_provider()
        self.env = workspace_env(passphrase=passphrase, pulumi_bin=pulumi_root / "bin" if pulumi_root else None,
                                 extra={"PULUMI_BACKEND_URL": backend_url})
        self._stacks: dict[str, LeanStack] = {}
        self._lock = threading.Lock()
        shared = shared_provider_host and pulumi_internals.caller_check_supported()
        self.provider_host = SharedProviderHost(dict(self.env)) if shared else None

    def _attach_provider_host(self) -> None:
        """Point the CLI at the shared provider host (workspaces hold `self.env` itself, so all of them see it)."""
        if self.provider_host is not None:
            self.env.update(pulumi_internals.attach_env(self.provider_host.ensure()))

    def close(self) -> None:
        if self.provider_host is not None:
            self.provider_host.stop()

    # workspaces ------------------------------------------------------------------------------------------------
    def _workspace(self, stack_name: str) -> auto.LocalWorkspace:
        folder = self.work_dir / stack_name
        folder.mkdir(parents=True, exist_ok=True)
        return auto.LocalWorkspace(
            work_dir=str(folder), pulumi_home=self.pulumi_home, env_vars=self.env, pulumi_command=self.command,
            secrets_provider=self.secrets_provider,
            project_settings=auto.ProjectSettings(name=PROJECT, runtime="python",
                                                  backend=auto.ProjectBackend(url=self.backend_url)),
        )

    def stack(self, stack_name: str, *, create: bool) -> LeanStack:
        """The model's stack, made when `create` and it does not exist yet (one CLI call per process and stack).

        Every CLI call goes through here, so this is where the CLI is pointed at a running provider host: the key is
        in the shared environment before any thread's CLI call copies it, and a replaced host's port is current."""
        self._attach_provider_host()
        with self._lock:
            cached = self._stacks.get(stack_name)
        if cached is not None:
            return cached
        workspace = self._workspace(stack_name)
        first, second = (StackInitMode.CREATE, StackInitMode.SELECT) if create else \
            (StackInitMode.SELECT, None)
        try:
            stack = LeanStack(stack_name, workspace, first)
        except (auto.StackAlreadyExistsError, auto.StackNotFoundError):
            if second is None:
                raise
            stack = LeanStack(stack_name, workspace, second)
        with self._lock:
            self._stacks[stack_name] = stack
        return stack

    def exists(self, stack_name: str) -> bool:
        try:
            self.stack(stack_name, create=False)
            return True
        except auto.StackNotFoundError:
            return False

    # operations ------------------------------------------------------------------------------------------------
    def up(self, stack_name: str, program: Callable[[], None], on_event: OnEvent, *, refresh: bool = False) -> None:
        """`refresh`: read every resource's live state first (in the same run), so the update puts drift back."""
        self.stack(stack_name, create=True).up(program=program, on_event=on_event, color="never",
                                                refresh=refresh or None)

    def preview_refresh(self, stack_name: str, program: Callable[[], None], on_event: OnEvent) -> auto.PreviewResult:
        """What a refresh would find (each resource's `read`), without writing the state."""
        return self.stack(stack_name, create=False).preview_refresh(program=program, on_event=on_event,
                                                                    color="never")

    def preview(self, stack_name: str, program: Callable[[], None], on_event: OnEvent) -> auto.PreviewResult:
        return self.stack(stack_name, create=True).preview(program=program, on_event=on_event, color="never", diff=True)

    def destroy_and_remove(self, stack_name: str, on_event: OnEvent) -> None:
        """Destroy every resource of the stack, then remove the stack and its workspace folder."""
        try:
            stack = self.stack(stack_name, create=False)
        except auto.StackNotFoundError:
            return
        stack.destroy_and_remove(on_event)
        self.forget(stack_name)
        shutil.rmtree(self.work_dir / stack_name, ignore_errors=True)

    def remove_if_empty(self, stack_name: str) -> None:
        """Remove a stack that holds no resource (made only to preview a create); none when the preview failed before
        making it."""
        try:
            stack = self.stack(stack_name, create=False)
        except auto.StackNotFoundError:
            return
        deployment = stack.export_stack().deployment or {}
        if not deployment.get("resources"):
            stack.workspace.remove_stack(stack_name)
            self.forget(stack_name)
            shutil.rmtree(self.work_dir / stack_name, ignore_errors=True)

    def cancel(self, stack_name: str) -> None:
        """Free the lock a killed update left on the stack (the backend keeps it otherwise)."""
        try:
            self.stack(stack_name, create=False).cancel()
        except auto.StackNotFoundError:
            pass

    def forget(self, stack_name: str) -> None:
        with self._lock:
            self._stacks.pop(stack_name, None)

    @staticmethod
    def default_backend(platform: PlatformOutputs) -> str:
        return default_backend_url(platform, aws.endpoint_url())


def describe_command_error(exc: BaseException) -> str:
    """The useful tail of an Automation API error (its stderr), without the command line and stdout noise."""
    text = str(exc)
    if " stderr: " in text:  # CommandError's text is "code: …, stdout: …, stderr: …"
        text = text.rsplit(" stderr: ", 1)[1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[-3:])[:2000] if lines else type(exc).__name__
