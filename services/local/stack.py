"""The local stack: the whole platform on this machine, as supervised child processes.

Start order (each step waits for the readiness of what the next needs):
  1. the state folder (locked: one stack per folder; processes a killed run left are stopped), its secrets, the
     stage config (validated like `pulumi up`), every port checked free: a problem is one clear line before
     anything starts;
  2. the AWS emulator (restoring its snapshot), the embedded PostgreSQL and the embedding server, side by side;
  3. the stage's resources in the emulator (services.local.emulated_aws.provision; idempotent), then platform.json;
  4. the serve and api apps and the web UI's static server (on a warm start, already during step 3, on the last
     run's platform, and restarted only if provisioning found something else);
  5. models registered through the admin API, an API token for OpenAI clients, run.json, the banner.
Ctrl-C / SIGTERM stops everything in reverse order: SIGTERM to each child, then SIGKILL to what is left of its
process group. The emulator saves its snapshot as it stops.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from core import aws, naming
from core import secrets as secret_store
from core.errors import ConfigError
from core.platform import PlatformOutputs, RagStoreOutputs
from services.local import banner, registrations
from services.local.emulated_aws import AdminUser, provision
from services.local.ports import PortInUseError, ensure_free, free_port
from services.local.postgres import EmbeddedPostgres, EmbeddedPostgresError
from services.local.settings import PORTS, REPO, LocalSettings
from services.local.stage import LocalStage, load_local_stage
from services.local.state import StateFolder, StateLockedError
from services.local.supervisor import Child, ChildFailed, Console, http_ok, stop_pid_group, wait_until

EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
EMBEDDING_MODEL = "all-minilm-l6-v2"


class StartupError(RuntimeError):
    pass


# Errors a user can act on: one line (or a short block), never a traceback.
USER_ERRORS = (PortInUseError, ConfigError, StateLockedError, ChildFailed, StartupError, EmbeddedPostgresError,
               TimeoutError)


def pulumi_root(repo: Path = REPO) -> Path:
    """Where the offline-built Pulumi CLI is: $LISA_PULUMI_ROOT, else the cache the Makefile builds it into."""
    if os.environ.get("LISA_PULUMI_ROOT"):
        return Path(os.environ["LISA_PULUMI_ROOT"])
    version = next((line.split()[1] for line in (repo / "tools/pulumi/go.mod").read_text().splitlines()
                    if line.strip().startswith("github.com/pulumi/pulumi/pkg/v3 ")), "unknown")
    cache = Path(os.environ.get("LISA_CACHE", Path.home() / ".cache" / "lisa"))
    return cache / "pulumi" / version


def seconds_since_process_start() -> float:
    return time.time() - psutil.Process().create_time()


class LocalStack:
    def __init__(self, settings: LocalSettings, *, console: Console | None = None, repo: Path = REPO) -> None:
        self.settings = settings
        self.repo = repo
        self.console = console or Console()
        self.state = StateFolder(settings.state_dir)
        self.ports: dict[str, int] = {}
        self.children: list[Child] = []
        self.postgres: EmbeddedPostgres | None = None
        self.platform: PlatformOutputs | None = None
        self._stopping = threading.Event()
        self.notes: list[str] = []  # for the banner

    # ---- entry point
    def run(self) -> int:
        """Start, wait for Ctrl-C/SIGTERM or a child's death, stop. The process's exit code."""
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        # Also when started with SIGINT ignored (a background job of a script inherits that): Ctrl-C must stop it.
        signal.signal(signal.SIGINT, _raise_interrupt)
        code = 0
        try:
            self.start()
            code = self.wait()
        except KeyboardInterrupt:
            self.console.info("stopping")
        except USER_ERRORS as exc:
            self.console.error(str(exc))
            code = 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if not self.stop() and code == 0:
                code = 1
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        return code

    def wait(self) -> int:
        while True:
            for child in self.children:
                if not child.alive():
                    self.console.error(str(child.failure()))
                    return 1
            pg = self.postgres
            if pg is not None and (pg.process is None or pg.process.poll() is not None):
                self.console.error(f"PostgreSQL exited; see {self.postgres.log_path}")
                return 1
            time.sleep(0.5)

    # ---- start
    def start(self) -> None:
        secrets, stage, env = self._prepare()
        platform = self._launch(stage, secrets, env)
        self._finish(platform, stage, secrets)

    def _prepare(self):
        """Everything that can fail before a process starts: state folder, leftovers, config, ports, tools."""
        self.state.create()
        self.state.lock()
        self.state.run_file.unlink(missing_ok=True)  # a stale one (a killed run's) would read as "ready"
        self._stop_leftovers()
        self.postgres = EmbeddedPostgres(self.state.postgres, log_path=self.state.logs / "postgres.log")
        orphan = self.postgres.stop_orphan()
        if orphan:
            self.console.info(f"stopped PostgreSQL (pid {orphan}), left running by an earlier run")
        secrets = self.state.secrets()
        stage = load_local_stage(self.repo, self.settings.stage, master_key=secrets.master_key)
        self._choose_ports()
        root = pulumi_root(self.repo)
        if not (root / "bin" / "pulumi").exists():
            raise StartupError(f"the Pulumi CLI is not built at {root}/bin; run `make pulumi-cli` (or `make run`)")
        self.postgres.port = self.ports["pg_port"]
        self._point_at_emulator(stage)
        return secrets, stage, self._child_env(stage, secrets.pulumi_passphrase, root)

    def _launch(self, stage: LocalStage, secrets, env: dict[str, str]) -> PlatformOutputs:
        """Every process started and answering; the platform they run on."""
        s = self.settings
        had_snapshot = self.state.snapshot.exists()
        emulator = self._spawn("emulator", [sys.executable, "-m", "services.local.emulator", "--port",
                                            str(self.ports["emulator_port"]), "--snapshot", str(self.state.snapshot),
                                            "--interval", str(s.emulator_snapshot_s)], env)
        self._spawn("embeddings", [sys.executable, "-m", "services.embeddings", "--port",
                                   str(self.ports["embeddings_port"])], env)
        # Warm start: the emulator comes back from its snapshot with the same resources, so the apps can start on
        # the last platform (moved to this run's ports) while the stage is provisioned again; they are restarted
        # only if provisioning finds something else (a changed stage config, a lost snapshot).
        predicted = self._relocated_platform()
        if predicted is not None:
            self._start_apps(predicted, env)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pg_started = pool.submit(self._start_postgres)
            wait_until(http_ok(self._url("emulator_port", "/moto-api/")), what="the AWS emulator",
                       timeout=s.ready_timeout_s, child=emulator)
            self.console.info(f"AWS emulator ready on {self._url('emulator_port')}")
            # An unreadable snapshot is set aside by the emulator before it serves; none at all means a fresh one.
            lost = not self.state.snapshot.exists() and self._model_stacks_exist()
            provisioned = self._provision(stage, secrets)
            pg_started.result()
        platform = self._with_rag_stores(provisioned, stage)
        if platform != predicted:
            if predicted is not None:
                self.console.info("the stage differs from the last run's; restarting the apps on the new platform")
                self._stop_apps()
            if lost:
                self._set_aside_model_stacks(had_snapshot)
            self._start_apps(platform, env)
        self.platform = platform
        for child, path in self._readiness_paths():
            wait_until(http_ok(self._url(f"{child.name}_port", path)), what=child.name, timeout=s.ready_timeout_s,
                       child=child)
        return platform

    def _finish(self, platform: PlatformOutputs, stage: LocalStage, secrets) -> None:
        """Models, the API token, run.json (the "ready" signal) and the banner."""
        self.console.info("all services ready; registering models")
        models, notes = self._register_models(secrets.master_key)
        token = self._api_token(platform, secrets)
        facts = banner.BannerFacts(
            endpoints=self.endpoints(), admin_username=secrets.admin_username, admin_password=secrets.admin_password,
            api_token=token, state_dir=str(self.state.root), ready_s=seconds_since_process_start(), models=models,
            notes=stage.notes + self.notes + notes, upstream_configured=bool(self.settings.upstream_url),
        )
        self.state.write_json(self.state.run_file, self._run_info(facts), private=True)
        self.console.block(banner.render(facts))

    APPS = ("serve", "api", "web")

    def _start_apps(self, platform: PlatformOutputs, env: dict[str, str]) -> None:
        self.state.write_json(self.state.platform_file, platform.model_dump(mode="json"))
        self.state.write_json(self.state.web_config, self._web_config(platform))
        env = {**env, "LISA_PLATFORM_FILE": str(self.state.platform_file), "LISA_RAG_PG_DSN": self.postgres.dsn}
        self._spawn("serve", [sys.executable, "-m", "services.serve"], env)
        self._spawn("api", [sys.executable, "-m", "services.api"],
                    {**env, "LISA_HOST": "127.0.0.1", "LISA_PORT": str(self.ports["api_port"])})
        self._spawn("web", [sys.executable, "-m", "services.local.web", "--port", str(self.ports["web_port"]),
                            "--dist", str(self.settings.web_dist), "--config", str(self.state.web_config)], env)

    def _stop_apps(self) -> None:
        for child in [c for c in self.children if c.name in self.APPS]:
            child.stop()
            self.children.remove(child)
        self._record_children()

    def _model_stacks_exist(self) -> bool:
        return any((self.state.pulumi_backend / ".pulumi" / "stacks").rglob("*.json"))

    def _set_aside_model_stacks(self, had_snapshot: bool) -> None:
        """The emulator lost what the model stacks describe: keep their state out of the way, so a model created
        again starts from nothing instead of trusting resources that are gone."""
        aside = self.state.root / f"pulumi.lost-{time.strftime('%Y%m%d-%H%M%S')}"
        self.state.pulumi_backend.rename(aside)
        self.state.pulumi_backend.mkdir()
        shutil.rmtree(self.state.model_stacks, ignore_errors=True)  # workspaces only; rebuilt on demand
        self.state.model_stacks.mkdir()
        why = "could not be read" if had_snapshot else "is missing"
        self.notes.append(f"the AWS emulator's saved state {why}, so the models it held are gone; their Pulumi "
                          f"state was moved to {aside}")

    def _readiness_paths(self) -> list[tuple[Child, str]]:
        paths = {"embeddings": "/health", "serve": "/health", "api": "/health", "web": "/_health"}
        return [(c, paths[c.name]) for c in self.children if c.name in paths]

    def _relocated_platform(self) -> PlatformOutputs | None:
        """The last run's platform with this run's ports, if the emulator will come back from a snapshot."""
        if not (self.state.snapshot.exists() and self.state.platform_file.exists()):
            return None
        try:
            previous = PlatformOutputs.model_validate_json(self.state.platform_file.read_text())
        except ValueError:
            return None
        auth = previous.auth
        if auth.jwks_url and auth.user_pool_id:
            jwks = f"{self._url('emulator_port')}/{auth.user_pool_id}/.well-known/jwks.json"
            auth = auth.model_copy(update={"jwks_url": jwks})
        stores = [store.model_copy(update={"port": self.ports["pg_port"]}) for store in previous.rag_stores]
        return previous.model_copy(update={"auth": auth, "rag_stores": stores, **self._platform_urls()})

    def _platform_urls(self) -> dict[str, str]:
        return {
            "serve_url": self._url("serve_port"),
            "api_url": self._url("api_port"),
            "web_url": self._url("web_port"),
            "state_backend_url": f"file://{self.state.pulumi_backend}",
        }

    def _record_children(self) -> None:
        """Who runs now, so a next start can stop what a killed supervisor left behind."""
        record = {}
        for child in self.children:
            try:
                record[child.name] = [child.pid, psutil.Process(child.pid).create_time()]
            except psutil.NoSuchProcess:
                continue
        self.state.write_json(self.state.root / "children.json", record)

    def _stop_leftovers(self) -> None:
        path = self.state.root / "children.json"
        if not path.exists():
            return
        for name, (pid, created) in json.loads(path.read_text()).items():
            try:
                if psutil.Process(pid).create_time() != created:
                    continue  # the pid belongs to another process by now
            except psutil.NoSuchProcess:
                continue
            self.console.info(f"stopping {name} (pid {pid}), left running by an earlier run")
            stop_pid_group(pid, timeout=20)
        path.unlink(missing_ok=True)

    def _choose_ports(self) -> None:
        chosen: dict[str, int] = {}
        for field, purpose in PORTS.items():
            port = getattr(self.settings, field) or free_port()
            clash = next((other for other, p in chosen.items() if p == port), None)
            if clash:
                raise StartupError(f"port {port} is given to both {PORTS[clash]} and {purpose}")
            ensure_free(port, purpose, f"choose another with {self.settings.port_flag(field)}")
            chosen[field] = port
        self.ports = chosen

    def _url(self, field: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[field]}{path}"

    def endpoints(self) -> banner.Endpoints:
        return banner.Endpoints(
            web=self._url("web_port"), serve=self._url("serve_port", "/v2/serve"), api=self._url("api_port"),
            emulator=self._url("emulator_port"), postgres=f"127.0.0.1:{self.ports['pg_port']}",
            embeddings=self._url("embeddings_port", "/v1"),
        )

    def _point_at_emulator(self, stage: LocalStage) -> None:
        # This process provisions the stage and issues the API token through core.aws, like the apps do.
        os.environ.update(EMULATOR_CREDENTIALS, LISA_AWS_ENDPOINT_URL=self._url("emulator_port"),
                          LISA_REGION=stage.config.region, AWS_DEFAULT_REGION=stage.config.region)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            os.environ.pop(name, None)
        aws.reset()

    def _child_env(self, stage: LocalStage, passphrase: str, root: Path) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith("AWS_") and k not in ("LISA_PLATFORM", "LISA_PLATFORM_FILE")}
        region = stage.config.region
        web_origins = {f"http://127.0.0.1:{self.ports['web_port']}", f"http://localhost:{self.ports['web_port']}"}
        return {
            **inherited,
            **EMULATOR_CREDENTIALS,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "LISA_REGION": region,
            "LISA_AWS_ENDPOINT_URL": self._url("emulator_port"),
            "PYTHONPATH": os.pathsep.join(p for p in (str(self.repo), os.environ.get("PYTHONPATH")) if p),
            "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            # Pulumi, for the api's deployment engine (model stacks in a file:// backend inside the state folder)
            "LISA_PULUMI_ROOT": str(root),
            "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": os.environ.get("PULUMI_HOME") or str(self.state.root / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": passphrase,
            "PULUMI_BACKEND_URL": f"file://{self.state.pulumi_backend}",
            "LISA_PULUMI_BACKEND_URL": f"file://{self.state.pulumi_backend}",
            "PULUMI_PYTHON_CMD": sys.executable,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "LISA_ENGINE_WORK_DIR": str(self.state.model_stacks),
            # the apps' own settings
            "LISA_SERVE_HOST": "127.0.0.1",
            "LISA_SERVE_PORT": str(self.ports["serve_port"]),
            "LISA_SERVE_CORS_ORIGINS": ",".join(sorted(web_origins)),
            "LISA_EMBEDDINGS_HOST": "127.0.0.1",
            "LISA_EMBEDDINGS_PORT": str(self.ports["embeddings_port"]),
        }

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        child = Child(name, argv, env=env, cwd=self.repo, log_dir=self.state.logs, console=self.console).start()
        self.children.append(child)
        self._record_children()
        return child

    def _start_postgres(self) -> None:
        self.postgres.start()
        self.console.line("postgres", f"ready on 127.0.0.1:{self.ports['pg_port']} (log: {self.postgres.log_path})")

    def _provision(self, stage: LocalStage, secrets) -> PlatformOutputs:
        started = time.monotonic()
        platform = provision(stage.config, admin=AdminUser(secrets.admin_username, secrets.admin_password))
        self.console.info(f"stage {stage.config.deployment_name}-{stage.config.deployment_stage.value} provisioned "
                          f"in the emulator ({time.monotonic() - started:.1f}s)")
        return platform

    def _with_rag_stores(self, platform: PlatformOutputs, stage: LocalStage) -> PlatformOutputs:
        """pgvector repositories point at the embedded PostgreSQL; its credentials in a secret, as RDS has."""
        pg = self.postgres
        stores = []
        for repository in stage.config.rag_repositories:
            name = naming.rag_db_secret(platform.deployment_name, platform.deployment_stage, repository.repository_id)
            arn = secret_store.put(name, json.dumps({"username": "postgres", "password": pg.password,
                                                     "host": "127.0.0.1", "port": pg.port, "dbname": "postgres",
                                                     "engine": "postgres"}))
            stores.append(RagStoreOutputs(repository=repository, endpoint="127.0.0.1", port=pg.port,
                                          database="postgres", credentials_secret_arn=arn))
        return platform.model_copy(update={"rag_stores": stores, **self._platform_urls()})

    def _web_config(self, platform: PlatformOutputs) -> dict[str, Any]:
        auth = platform.auth
        serve = self._url("serve_port", "/v2/serve")
        return {
            "title": "LISA (local)",
            "deploymentName": platform.deployment_name,
            "stage": platform.deployment_stage,
            "region": platform.region,
            "serveUrl": serve,
            "openAiBaseUrl": serve,
            "apiUrl": self._url("api_port"),
            "auth": {
                "authority": auth.authority,
                "clientId": auth.client_id,
                "adminGroup": auth.admin_group,
                "jwtGroupsProperty": auth.jwt_groups_property,
                "additionalScopes": auth.additional_scopes,
                "passwordLogin": {"cognitoEndpoint": self._url("emulator_port"), "region": platform.region},
            },
        }

    def _register_models(self, master_key: str) -> tuple[list[registrations.Registered], list[str]]:
        s = self.settings
        admin = registrations.AdminClient(self._url("api_port"), master_key)
        payloads = [registrations.embedding_payload(self._url("embeddings_port", "/v1"), EMBEDDING_MODEL)]
        notes: list[str] = []
        if s.upstream_url:
            key = s.upstream_api_key.get_secret_value() if s.upstream_api_key else None
            try:
                names = s.upstream_models or registrations.discover_upstream_models(s.upstream_url, key)
            except Exception as exc:  # noqa: BLE001 - the user's server being down must not stop the stack
                names = []
                notes.append(f"could not list the models of {s.upstream_url} ({exc}); set LISA_UPSTREAM_MODELS")
            payloads += [registrations.upstream_payload(s.upstream_url, name, key) for name in names]
        # One call first: concurrent first calls with the master key can race its lazy load in the api (401).
        admin.get(payloads[0]["modelId"])
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(registrations.ensure_registered, admin, p, s.model_ready_timeout_s)
                       for p in payloads]
            results = []
            for payload, future in zip(payloads, futures):
                try:
                    results.append(future.result())
                except Exception as exc:  # noqa: BLE001 - report it in the banner; the stack itself is up
                    notes.append(f"could not register {payload['modelId']}: {exc}")
        return results, notes

    def _api_token(self, platform: PlatformOutputs, secrets) -> str:
        """The OpenAI-client token kept in the state folder; issued again if the tokens table lost it."""
        from services.serve.tokens import TokenStore

        store = TokenStore(platform.tables.tokens)
        if secrets.api_token and store.lookup(secrets.api_token) is not None:
            return secrets.api_token
        token, _ = store.issue(owner=secrets.admin_username, username=secrets.admin_username,
                               name="local stack (printed at start)")
        self.state.save_api_token(token)
        return token

    def _run_info(self, facts: banner.BannerFacts) -> dict[str, Any]:
        e = facts.endpoints
        return {
            "pid": os.getpid(),
            "web": e.web, "serve": e.serve, "api": e.api, "emulator": e.emulator, "embeddings": e.embeddings,
            "postgres": e.postgres, "ports": self.ports, "readySeconds": round(facts.ready_s, 2),
            "children": {c.name: c.pid for c in self.children} | {"postgres": self.postgres.process.pid},
            "adminUsername": facts.admin_username,
        }

    # ---- stop
    def stop(self) -> bool:
        """Stop everything; False when the emulator did not exit cleanly (its state may not have been saved)."""
        if self._stopping.is_set() or not self.state.locked:
            return True  # never touch the files of a stack that another process runs on this folder
        self._stopping.set()
        self.state.run_file.unlink(missing_ok=True)
        # Reverse order: the apps first (they use the emulator and Postgres), the emulator (saving its snapshot)
        # and Postgres last.
        for child in reversed(self.children):
            if child.alive():
                self.console.info(f"stopping {child.name}")
            # the emulator saves its snapshot; the api may be finishing a model deployment
            child.stop(timeout={"emulator": 20, "api": 15}.get(child.name, 10))
        if self.postgres is not None:
            self.postgres.stop()
        (self.state.root / "children.json").unlink(missing_ok=True)
        self.state.unlock()
        emulator = next((c for c in self.children if c.name == "emulator"), None)
        if emulator is not None and emulator.process.returncode != 0:
            self.console.error(f"the AWS emulator exited with {emulator.process.returncode} while stopping; its state "
                               f"may not be saved (see {emulator.log_path})")
            return False
        return True


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt
