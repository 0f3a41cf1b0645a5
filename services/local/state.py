"""The local stack's state folder: what survives a restart, and the secrets generated once for it.

    <state>/
      secrets.json          0600: admin password, Pulumi passphrase, LiteLLM master key, the OpenAI-client API token
      emulator/snapshot.pickle   the AWS emulator's state (services/local/emulator.py)
      postgres/             the embedded PostgreSQL (data/, sock/, password)
      opensearch/           the embedded OpenSearch node (data/, home/, logs/, opensearch.pid)
      pulumi/               file:// backend of the model stacks
      model-stacks/         their Pulumi workspaces (rebuilt at will)
      logs/<child>.log      each child's output
      platform.json         the platform outputs the apps read (LISA_PLATFORM_FILE)
      web/config.json       the UI's runtime config
      run.json              URLs and pids while the stack runs (removed at shutdown)
      lock                  held while a stack runs on this folder
`make clean-state` removes the folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.local.emulated_aws import new_admin_password
from services.local.private_files import write_private


class StateLockedError(RuntimeError):
    pass


@dataclass
class LocalSecrets:
    admin_username: str
    admin_password: str
    pulumi_passphrase: str
    master_key: str
    api_token: str | None = None


class StateFolder:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._lock_fd: int | None = None

    # ---- paths
    @property
    def snapshot(self) -> Path:
        return self.root / "emulator" / "snapshot.pickle"

    @property
    def postgres(self) -> Path:
        return self.root / "postgres"

    @property
    def opensearch(self) -> Path:
        return self.root / "opensearch"

    @property
    def pulumi_backend(self) -> Path:
        return self.root / "pulumi"

    @property
    def model_stacks(self) -> Path:
        return self.root / "model-stacks"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def platform_file(self) -> Path:
        return self.root / "platform.json"

    @property
    def web_config(self) -> Path:
        return self.root / "web" / "config.json"

    @property
    def run_file(self) -> Path:
        return self.root / "run.json"

    def create(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for directory in (self.snapshot.parent, self.pulumi_backend, self.model_stacks, self.logs,
                          self.web_config.parent):
            directory.mkdir(parents=True, exist_ok=True)

    # ---- one stack per folder
    def lock(self) -> None:
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode().strip() or "unknown"
            os.close(fd)
            raise StateLockedError(
                f"another local stack (pid {holder}) is running on {self.root}; "
                "stop it first or use another --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    @property
    def locked(self) -> bool:
        return self._lock_fd is not None

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ---- secrets, generated once
    def secrets(self) -> LocalSecrets:
        path = self.root / "secrets.json"
        stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        wanted = {
            "adminUsername": lambda: "admin",
            "adminPassword": new_admin_password,
            "pulumiPassphrase": lambda: secrets.token_urlsafe(24),
            "masterKey": lambda: "sk-local-" + secrets.token_hex(20),
        }
        missing = {k: make() for k, make in wanted.items() if not stored.get(k)}
        if missing:
            stored.update(missing)
            write_private(path, (json.dumps(stored, indent=2) + "\n").encode())
        return LocalSecrets(stored["adminUsername"], stored["adminPassword"], stored["pulumiPassphrase"],
                            stored["masterKey"], stored.get("apiToken"))

    def save_api_token(self, token: str) -> None:
        path = self.root / "secrets.json"
        stored = json.loads(path.read_text())
        stored["apiToken"] = token
        write_private(path, (json.dumps(stored, indent=2) + "\n").encode())

    def write_json(self, path: Path, data: Any, *, private: bool = False) -> None:
        text = json.dumps(data, indent=2) + "\n"
        if private:
            write_private(path, text.encode())
        else:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
