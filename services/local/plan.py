"""The local stack's plan: which port each part listens on, the URLs and environment the children get, the UI's
runtime config. Plain values derived from the settings and the state folder: no process is started here, so all of
it is unit-tested (tests/unit/test_local_plan.py).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from components.web_config import PasswordLogin, WebRuntimeConfig
from core.config import RagRepositoryConfig
from core.platform import PlatformOutputs, RagStoreOutputs
from services.local import banner
from services.local.ports import ensure_free, free_port
from services.local.settings import PORTS, REPO, LocalSettings
from services.local.state import StateFolder

EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
EMBEDDING_MODEL = "all-minilm-l6-v2"
CHAT_MODEL = "smollm2-135m-instruct"  # the local chat server's default model name
APPS = ("serve", "api", "web")
# What each child answers once it is ready (the emulator answers /moto-api/ before the others start).
READINESS_PATHS = {"emulator": "/moto-api/", "embeddings": "/health", "generation": "/health", "serve": "/health",
                   "api": "/health", "web": "/_health"}


class PlanError(RuntimeError):
    """The settings cannot make a plan (two parts on one port); the message says which."""


def pulumi_root(repo: Path = REPO, environ: Mapping[str, str] | None = None) -> Path:
    """Where the offline-built Pulumi CLI is: $LISA_PULUMI_ROOT, else the cache the Makefile builds it into."""
    env = os.environ if environ is None else environ
    if env.get("LISA_PULUMI_ROOT"):
        return Path(env["LISA_PULUMI_ROOT"])
    version = next((line.split()[1] for line in (repo / "tools/pulumi/go.mod").read_text().splitlines()
                    if line.strip().startswith("github.com/pulumi/pulumi/pkg/v3 ")), "unknown")
    cache = Path(env.get("LISA_CACHE") or Path.home() / ".cache" / "lisa")
    return cache / "pulumi" / version


def choose_ports(settings: LocalSettings, *, pick: Callable[[], int] = free_port,
                 check: Callable[[int, str, str], int] = ensure_free) -> dict[str, int]:
    """A port per part: the one set (flag or LISA_<PART>_PORT), or any free one for 0. Two parts on one port are
    refused; `check` refuses a port something else holds (PortInUseError naming it and the flag to change)."""
    chosen: dict[str, int] = {}
    for field, purpose in settings.needed_ports().items():
        port = getattr(settings, field) or pick()
        clash = next((other for other, p in chosen.items() if p == port), None)
        if clash:
            raise PlanError(f"port {port} is given to both {PORTS[clash]} and {purpose}")
        chosen[field] = check(port, purpose, f"choose another with {settings.port_flag(field)}")
    return chosen


@dataclass(frozen=True)
class LocalPlan:
    settings: LocalSettings
    state: StateFolder
    ports: Mapping[str, int]
    region: str
    pulumi_root: Path
    repo: Path = REPO
    python: str = sys.executable

    # ---- where things are
    def url(self, field: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[field]}{path}"

    def ready_url(self, child: str) -> str:
        return self.url(f"{child}_port", READINESS_PATHS[child])

    @property
    def backend_url(self) -> str:
        return f"file://{self.state.pulumi_backend}"

    def endpoints(self) -> banner.Endpoints:
        return banner.Endpoints(
            web=self.url("web_port"), serve=self.url("serve_port", "/v2/serve"), api=self.url("api_port"),
            emulator=self.url("emulator_port"), postgres=f"127.0.0.1:{self.ports['pg_port']}",
            opensearch=self.url("opensearch_port"), embeddings=self.url("embeddings_port", "/v1"), chat=self.chat_url,
        )

    @property
    def chat_url(self) -> str | None:
        """The local chat model's OpenAI base URL, when it runs."""
        return self.url("generation_port", "/v1") if "generation_port" in self.ports else None

    def platform_urls(self) -> dict[str, str]:
        return {"serve_url": self.url("serve_port"), "api_url": self.url("api_port"), "web_url": self.url("web_port"),
                "state_backend_url": self.backend_url}

    def web_origins(self) -> list[str]:
        port = self.ports["web_port"]
        return sorted({f"http://127.0.0.1:{port}", f"http://localhost:{port}"})

    # ---- the platform the apps run on
    def with_urls(self, platform: PlatformOutputs) -> PlatformOutputs:
        return platform.model_copy(update=self.platform_urls())

    def relocated(self, previous: PlatformOutputs) -> PlatformOutputs:
        """The last run's platform moved to this run's ports (a warm start: the emulator restores the same
        resources, so only what names a port changes)."""
        auth = previous.auth
        if auth.jwks_url and auth.user_pool_id:
            auth = auth.model_copy(update={"jwks_url": self.url("emulator_port",
                                                                f"/{auth.user_pool_id}/.well-known/jwks.json")})
        stores = [self.rag_store(store.repository, store.credentials_secret_arn) for store in previous.rag_stores]
        return previous.model_copy(update={"auth": auth, "rag_stores": stores, **self.platform_urls()})

    def rag_store(self, repository: RagRepositoryConfig, secret_arn: str | None) -> RagStoreOutputs:
        """Where a repository's vectors are locally: the embedded OpenSearch node, or the embedded PostgreSQL with
        its credentials in the secret `secret_arn` (as RDS has)."""
        if repository.type == "opensearch":
            return RagStoreOutputs(repository=repository, endpoint=self.url("opensearch_port"),
                                   port=self.ports["opensearch_port"])
        return RagStoreOutputs(repository=repository, endpoint="127.0.0.1", port=self.ports["pg_port"],
                               database="postgres", credentials_secret_arn=secret_arn)

    def web_config(self, platform: PlatformOutputs) -> WebRuntimeConfig:
        """The UI's /config.json: the apps on this run's ports, sign-in through the emulator's Cognito."""
        return WebRuntimeConfig.build(
            serve_origin=self.url("serve_port"), api_url=self.url("api_port"), auth=platform.auth,
            title="LISA (local)",
            password_login=PasswordLogin(cognito_endpoint=self.url("emulator_port"), region=platform.region))

    # ---- environments
    def aws_env(self) -> dict[str, str]:
        """This process (provisioning, the bootstrap) reaches AWS like the apps do: the emulator, fake keys."""
        return {**EMULATOR_CREDENTIALS, "LISA_AWS_ENDPOINT_URL": self.url("emulator_port"), "LISA_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region}

    def child_env(self, environ: Mapping[str, str], passphrase: str) -> dict[str, str]:
        """What every child gets: `environ` without AWS credentials or another platform, the emulator, Pulumi."""
        inherited = {k: v for k, v in environ.items()
                     if not k.startswith("AWS_") and k not in ("LISA_PLATFORM", "LISA_PLATFORM_FILE")}
        root = self.pulumi_root
        return {
            **inherited,
            **self.aws_env(),
            "AWS_REGION": self.region,
            "PYTHONPATH": os.pathsep.join(p for p in (str(self.repo), environ.get("PYTHONPATH")) if p),
            "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            # Pulumi, for the api's deployment engine (model stacks in a file:// backend inside the state folder)
            "LISA_PULUMI_ROOT": str(root),
            "PATH": f"{root / 'bin'}{os.pathsep}{environ.get('PATH', '')}",
            "PULUMI_HOME": environ.get("PULUMI_HOME") or str(self.state.root / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": passphrase,
            "PULUMI_BACKEND_URL": self.backend_url,
            "LISA_PULUMI_BACKEND_URL": self.backend_url,
            "PULUMI_PYTHON_CMD": self.python,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "LISA_ENGINE_WORK_DIR": str(self.state.model_stacks),
            # the apps' own settings
            "LISA_SERVE_HOST": "127.0.0.1",
            "LISA_SERVE_PORT": str(self.ports["serve_port"]),
            "LISA_SERVE_CORS_ORIGINS": ",".join(self.web_origins()),
            "LISA_EMBEDDINGS_HOST": "127.0.0.1",
            "LISA_EMBEDDINGS_PORT": str(self.ports["embeddings_port"]),
            "LISA_API_DOCS": "true",  # /docs and /openapi.json: on locally, off in AWS (the core stack's default)
            # MCP connections may reach this machine's own servers (one person's machine); set it to narrow that.
            "LISA_MCP_ALLOWED_NETWORKS": environ.get("LISA_MCP_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128"),
            **({"LISA_GENERATION_HOST": "127.0.0.1", "LISA_GENERATION_PORT": str(self.ports["generation_port"])}
               if self.chat_url else {}),
        }

    # ---- what runs
    def service_commands(self) -> dict[str, list[str]]:
        """The children that start first, before the platform exists: the emulator and the model servers."""
        commands = {
            "emulator": [self.python, "-m", "services.local.emulator", "--port", str(self.ports["emulator_port"]),
                         "--snapshot", str(self.state.snapshot), "--interval", str(self.settings.emulator_snapshot_s)],
            "embeddings": [self.python, "-m", "services.embeddings", "--port", str(self.ports["embeddings_port"])],
        }
        if self.chat_url:
            commands["generation"] = [self.python, "-m", "services.generation", "--port",
                                      str(self.ports["generation_port"])]
        return commands

    def app_commands(self, pg_dsn: str) -> dict[str, tuple[list[str], dict[str, str]]]:
        """The apps on the platform file: each its argv and what it adds to the children's environment."""
        shared = {"LISA_PLATFORM_FILE": str(self.state.platform_file), "LISA_RAG_PG_DSN": pg_dsn,
                  "LISA_RAG_OPENSEARCH_URL": self.url("opensearch_port")}
        return {
            "serve": ([self.python, "-m", "services.serve"], shared),
            "api": ([self.python, "-m", "services.api"],
                    {**shared, "LISA_HOST": "127.0.0.1", "LISA_PORT": str(self.ports["api_port"])}),
            "web": ([self.python, "-m", "services.local.web", "--port", str(self.ports["web_port"]),
                     "--dist", str(self.settings.web_dist), "--config", str(self.state.web_config)], shared),
        }

    def run_info(self, facts: banner.BannerFacts, pids: Mapping[str, int], pid: int) -> dict[str, Any]:
        """run.json: where everything is, written once every part answers (the "ready" signal)."""
        e = facts.endpoints
        return {
            "pid": pid,
            "web": e.web, "serve": e.serve, "api": e.api, "emulator": e.emulator, "embeddings": e.embeddings,
            "chat": e.chat,
            "postgres": e.postgres, "opensearch": e.opensearch, "ports": dict(self.ports),
            "readySeconds": round(facts.ready_s, 2),
            "children": dict(pids), "adminUsername": facts.admin_username,
        }
