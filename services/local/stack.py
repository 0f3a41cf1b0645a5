"""The local stack: the whole platform on this machine, as supervised child processes.

Three parts: the plan (services/local/plan.py: ports, URLs, environments, the UI's config; pure), the launcher
(services/local/launcher.py: children, PostgreSQL, shutdown) and the bootstrap (services/local/bootstrap.py: models
and the API token, through the api). This module runs them in order:
  1. the state folder (locked: one stack per folder; processes a killed run left are stopped), its secrets, the
     stage config (validated like `pulumi up`), every port checked free: a problem is one clear line before
     anything starts;
  2. the AWS emulator (restoring its snapshot), the embedded PostgreSQL, the OpenSearch node and the model servers,
     side by side;
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
import threading
import time

import psutil

from core import aws, naming
from core import secrets as secret_store
from core.errors import ConfigError
from core.platform import PlatformOutputs
from services.local import banner, bootstrap
from services.local.emulated_aws import AdminUser, provision
from services.local.launcher import Launcher
from services.local.opensearch import EmbeddedOpenSearch, EmbeddedOpenSearchError
from services.local.plan import APPS, CHAT_MODEL, LocalPlan, PlanError, choose_ports, pulumi_root
from services.local.ports import PortInUseError
from services.local.postgres import EmbeddedPostgres, EmbeddedPostgresError
from services.local.settings import REPO, LocalSettings
from services.local.stage import LocalStage, load_local_stage
from services.local.state import LocalSecrets, StateFolder, StateLockedError
from services.local.supervisor import ChildFailed, Console, http_ok, wait_until


class StartupError(RuntimeError):
    pass


# Errors a user can act on: one line (or a short block), never a traceback.
USER_ERRORS = (PortInUseError, PlanError, ConfigError, StateLockedError, ChildFailed, StartupError,
               EmbeddedPostgresError, EmbeddedOpenSearchError, TimeoutError)


def seconds_since_process_start() -> float:
    return time.time() - psutil.Process().create_time()


class LocalStack:
    def __init__(self, settings: LocalSettings, *, console: Console | None = None, repo=REPO) -> None:
        self.settings = settings
        self.repo = repo
        self.console = console or Console()
        self.state = StateFolder(settings.state_dir)
        self.launcher = Launcher(self.state, cwd=repo, console=self.console)
        self.plan: LocalPlan | None = None
        self.platform: PlatformOutputs | None = None
        self._stopping = threading.Event()
        self.notes: list[str] = []  # for the banner
        self._opensearch_started: concurrent.futures.Future | None = None

    # ---- entry point
    def run(self) -> int:
        """Start, wait for Ctrl-C/SIGTERM or a child's death, stop. The process's exit code."""
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        # Also when started with SIGINT ignored (a background job of a script inherits that): Ctrl-C must stop it.
        signal.signal(signal.SIGINT, _raise_interrupt)
        code = 0
        try:
            self.start()
            self.console.error(self.launcher.watch())
            code = 1
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

    # ---- start
    def start(self) -> None:
        secrets, stage = self._prepare()
        env = self.plan.child_env(os.environ, secrets.pulumi_passphrase)
        platform = self._launch(stage, secrets, env)
        self._finish(platform, stage, secrets)

    def _prepare(self) -> tuple[LocalSecrets, LocalStage]:
        """Everything that can fail before a process starts: state folder, leftovers, config, ports, tools."""
        self.state.create()
        self.state.lock()
        self.state.run_file.unlink(missing_ok=True)  # a stale one (a killed run's) would read as "ready"
        self.launcher.postgres = EmbeddedPostgres(self.state.postgres, log_path=self.state.logs / "postgres.log")
        self.launcher.opensearch = EmbeddedOpenSearch(self.state.opensearch,
                                                      log_path=self.state.logs / "opensearch.log")
        self.launcher.stop_leftovers()
        self.launcher.opensearch.installed()
        secrets = self.state.secrets()
        stage = load_local_stage(self.repo, self.settings.stage, master_key=secrets.master_key)
        root = pulumi_root(self.repo)
        self.plan = LocalPlan(self.settings, self.state, choose_ports(self.settings), stage.config.region, root,
                              repo=self.repo)
        if not (root / "bin" / "pulumi").exists():
            raise StartupError(f"the Pulumi CLI is not built at {root}/bin; run `make pulumi-cli` (or `make run`)")
        self.launcher.postgres.port = self.plan.ports["pg_port"]
        self.launcher.opensearch.port = self.plan.ports["opensearch_port"]
        # This process provisions the stage through core.aws, like the apps reach AWS.
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            os.environ.pop(name, None)
        os.environ.update(self.plan.aws_env())
        aws.reset()
        return secrets, stage

    def _launch(self, stage: LocalStage, secrets: LocalSecrets, env: dict[str, str]) -> PlatformOutputs:
        """Every process started and answering; the platform they run on."""
        plan, timeout = self.plan, self.settings.ready_timeout_s
        had_snapshot = self.state.snapshot.exists()
        # The JVM is the slowest to start: launched first, waited for last.
        self._opensearch_started = concurrent.futures.ThreadPoolExecutor(1).submit(self._start_opensearch)
        for name, argv in plan.service_commands().items():
            self.launcher.spawn(name, argv, env)
        # Warm start: the emulator comes back from its snapshot with the same resources, so the apps can start on
        # the last platform (moved to this run's ports) while the stage is provisioned again; they are restarted
        # only if provisioning finds something else (a changed stage config, a lost snapshot).
        predicted = self._last_platform()
        if predicted is not None:
            self._start_apps(predicted, env)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pg_started = pool.submit(self._start_postgres)
            wait_until(http_ok(plan.ready_url("emulator")), what="the AWS emulator", timeout=timeout,
                       child=self.launcher.child("emulator"))
            self.console.info(f"AWS emulator ready on {plan.url('emulator_port')}")
            # An unreadable snapshot is set aside by the emulator before it serves; none at all means a fresh one.
            lost = not self.state.snapshot.exists() and self._model_stacks_exist()
            provisioned = self._provision(stage, secrets)
            pg_started.result()
        self._opensearch_started.result()
        platform = plan.with_urls(self._with_rag_stores(provisioned, stage))
        if platform != predicted:
            if predicted is not None:
                self.console.info("the stage differs from the last run's; restarting the apps on the new platform")
                self.launcher.stop(APPS)
            if lost:
                self._set_aside_model_stacks(had_snapshot)
            self._start_apps(platform, env)
        self.platform = platform
        for child in list(self.launcher.children):
            if child.name != "emulator":
                wait_until(http_ok(plan.ready_url(child.name)), what=child.name, timeout=timeout, child=child)
        return platform

    def _finish(self, platform: PlatformOutputs, stage: LocalStage, secrets: LocalSecrets) -> None:
        """Models, the API token, run.json (the "ready" signal) and the banner."""
        self.console.info("all services ready; registering models")
        models, notes = bootstrap.register_models(self.plan, secrets.master_key)
        token = bootstrap.api_token(self.plan.url("api_port"), secrets, self.state)
        facts = banner.BannerFacts(
            endpoints=self.plan.endpoints(), admin_username=secrets.admin_username,
            admin_password=secrets.admin_password, api_token=token, state_dir=str(self.state.root),
            ready_s=seconds_since_process_start(), models=models, notes=stage.notes + self.notes + notes,
            upstream_configured=bool(self.settings.upstream_url),
            local_chat_model=CHAT_MODEL if self.plan.chat_url else None,
        )
        run_info = self.plan.run_info(facts, self.launcher.pids(), os.getpid())
        self.state.write_json(self.state.run_file, run_info, private=True)
        self.console.block(banner.render(facts))

    def _start_apps(self, platform: PlatformOutputs, env: dict[str, str]) -> None:
        self.state.write_json(self.state.platform_file, platform.model_dump(mode="json"))
        self.state.write_json(self.state.web_config, self.plan.web_config(platform).model_dump())
        for name, (argv, extra) in self.plan.app_commands(self.launcher.postgres.dsn).items():
            self.launcher.spawn(name, argv, {**env, **extra})

    def _last_platform(self) -> PlatformOutputs | None:
        """The last run's platform on this run's ports, if the emulator will come back from a snapshot."""
        if not (self.state.snapshot.exists() and self.state.platform_file.exists()):
            return None
        try:
            previous = PlatformOutputs.model_validate_json(self.state.platform_file.read_text())
        except ValueError:
            return None
        return self.plan.relocated(previous)

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

    def _start_opensearch(self) -> None:
        node = self.launcher.opensearch
        node.start()
        self.console.line("opensearch", f"ready on {node.url} (log: {node.log_path})")

    def _start_postgres(self) -> None:
        self.launcher.postgres.start()
        self.console.line("postgres", f"ready on 127.0.0.1:{self.plan.ports['pg_port']} "
                                      f"(log: {self.launcher.postgres.log_path})")

    def _provision(self, stage: LocalStage, secrets: LocalSecrets) -> PlatformOutputs:
        started = time.monotonic()
        platform = provision(stage.config, admin=AdminUser(secrets.admin_username, secrets.admin_password))
        self.console.info(f"stage {stage.config.deployment_name}-{stage.config.deployment_stage.value} provisioned "
                          f"in the emulator ({time.monotonic() - started:.1f}s)")
        return platform

    def _with_rag_stores(self, platform: PlatformOutputs, stage: LocalStage) -> PlatformOutputs:
        """pgvector repositories point at the embedded PostgreSQL, its credentials in a secret as RDS has; OpenSearch
        ones at the embedded node."""
        pg = self.launcher.postgres
        stores = []
        for repository in stage.config.rag_repositories:
            arn = None
            if repository.type == "pgvector":
                name = naming.rag_db_secret(platform.deployment_name, platform.deployment_stage,
                                            repository.repository_id)
                arn = secret_store.put(name, json.dumps({"username": "postgres", "password": pg.password,
                                                         "host": "127.0.0.1", "port": pg.port, "dbname": "postgres",
                                                         "engine": "postgres"}))
            stores.append(self.plan.rag_store(repository, arn))
        return platform.model_copy(update={"rag_stores": stores})

    # ---- stop
    def stop(self) -> bool:
        """Stop everything; False when the emulator did not exit cleanly (its state may not have been saved)."""
        if self._stopping.is_set() or not self.state.locked:
            return True  # never touch the files of a stack that another process runs on this folder
        self._stopping.set()
        self.state.run_file.unlink(missing_ok=True)
        if self._opensearch_started is not None:
            concurrent.futures.wait([self._opensearch_started], timeout=30)  # stopped during its start
        clean = self.launcher.stop_all()
        self.state.unlock()
        return clean


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt
