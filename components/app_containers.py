"""Container definitions of the two apps (serve, api) on Fargate, from plain values. No Pulumi here."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Mapping

App = Literal["serve", "api"]
APP_PORT = 8080
ALB_IDLE_TIMEOUT_S = 600  # long streamed completions must not be cut by the ALB
# The apps keep idle connections open longer than the ALB does: else an app may close a connection the ALB is just
# reusing, and the ALB answers that request with a 502.
APP_KEEP_ALIVE_S = ALB_IDLE_TIMEOUT_S + 20
HEALTH_PATH = "/health"
# One image holds both apps (services/); the command picks which one runs.
APP_COMMANDS: dict[str, list[str]] = {
    "serve": ["python", "-m", "services.serve"],
    "api": ["python", "-m", "services.api"],
}


def platform_digest(platform_json: str) -> str:
    """Put in the task definition so a changed platform secret rolls the tasks (ECS reads secrets only at start)."""
    return hashlib.sha256(platform_json.encode()).hexdigest()[:16]


def app_environment(*, app: App, region: str, log_level: str, platform_json: str, web_url: str | None,
                    extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables each app's settings read (services/serve/settings.py: LISA_SERVE_*, services/api: LISA_*)."""
    env = {"AWS_REGION": region, "LISA_REGION": region, "LISA_PLATFORM_DIGEST": platform_digest(platform_json)}
    if app == "serve":
        env.update(LISA_SERVE_HOST="0.0.0.0", LISA_SERVE_PORT=str(APP_PORT), LISA_SERVE_LOG_LEVEL=log_level,
                   LISA_SERVE_KEEP_ALIVE_S=str(APP_KEEP_ALIVE_S))
        if web_url:
            env["LISA_SERVE_CORS_ORIGINS"] = web_url
    else:
        # No /docs or /openapi.json in AWS: the api's routes are not advertised to the internet.
        env.update(LISA_HOST="0.0.0.0", LISA_PORT=str(APP_PORT), LISA_LOG_LEVEL=log_level,
                   LISA_KEEP_ALIVE_S=str(APP_KEEP_ALIVE_S), LISA_API_DOCS="false")
        if web_url:
            env["LISA_CORS_ORIGINS"] = web_url
    env.update(extra or {})
    return env


def app_container_definitions(
    *, app: App, image: str, region: str, log_group: str, platform_secret_arn: str,
    environment: Mapping[str, str],
) -> list[dict[str, Any]]:
    return [{
        "name": app,
        "image": image,
        "essential": True,
        "command": APP_COMMANDS[app],
        "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        # The platform document may hold static models' API keys, so it arrives as a secret, not an env value.
        "secrets": [{"name": "LISA_PLATFORM", "valueFrom": platform_secret_arn}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": app},
        },
        "linuxParameters": {"initProcessEnabled": True},
        "stopTimeout": 30,
    }]


def container_definitions_json(definitions: list[dict[str, Any]]) -> str:
    return json.dumps(definitions, sort_keys=True)
