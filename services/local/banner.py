"""What the local stack prints once it is ready: where everything is and how to sign in."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.local.registrations import Registered


@dataclass
class Endpoints:
    web: str
    serve: str  # the base URL an OpenAI client takes, ending in /v2/serve
    api: str
    emulator: str
    postgres: str  # host:port, no credentials
    opensearch: str  # base URL of the embedded node
    embeddings: str
    chat: str | None = None  # the local chat model's server, when it runs


@dataclass
class BannerFacts:
    endpoints: Endpoints
    admin_username: str
    admin_password: str
    api_token: str | None
    state_dir: str
    ready_s: float
    models: list[Registered] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    upstream_configured: bool = False
    local_chat_model: str | None = None  # its model id, when it runs


def render(facts: BannerFacts) -> str:
    e = facts.endpoints
    lines = [
        "",
        f"LISA is running locally (ready in {facts.ready_s:.1f}s). Ctrl-C stops everything.",
        "",
        f"  Web UI            {e.web}",
        f"  OpenAI base URL   {e.serve}",
        f"  Admin API         {e.api}        (models: {e.api}/models)",
        "",
        f"  Admin login       {facts.admin_username} / {facts.admin_password}",
    ]
    if facts.api_token:
        lines.append(f"  API token         {facts.api_token}")
    lines += [
        "",
        "  Try it:",
        f"    curl -s {e.serve}/models -H 'Authorization: Bearer {facts.api_token or '<token>'}'",
        f"    OpenAI(base_url=\"{e.serve}\", api_key=\"{facts.api_token or '<token>'}\")",
        "",
    ]
    if facts.models:
        lines.append("  Models registered at start:")
        for model in facts.models:
            reason = f" ({model.reason})" if model.reason else ""
            lines.append(f"    {model.model_id:<32} {model.model_type:<10} {model.status}{reason}")
        lines.append("")
    if not facts.upstream_configured and facts.local_chat_model:
        lines += [
            f"  Chat works offline with {facts.local_chat_model}, a small model (SmolLM2, 135M parameters) that",
            "  runs on this CPU: enough to try the platform, not for real answers. For a bigger model, point the stack",
            "  at any OpenAI-compatible server and restart, e.g. a local Ollama:",
            "    LISA_UPSTREAM_URL=http://127.0.0.1:11434/v1 make run",
            "",
        ]
    elif not facts.upstream_configured:
        lines += [
            "  No chat model yet. Point the stack at any OpenAI-compatible server and restart, e.g. a local Ollama:",
            "    LISA_UPSTREAM_URL=http://127.0.0.1:11434/v1 make run",
            "  (LISA_UPSTREAM_API_KEY if it needs one, LISA_UPSTREAM_MODELS=a,b to pick models), or add one in the",
            "  UI's admin pages / with POST /models.",
            "",
        ]
    for note in facts.notes:
        lines.append(f"  Note: {note}")
    lines += [
        f"  AWS emulator      {e.emulator}   PostgreSQL {e.postgres}   OpenSearch {e.opensearch}",
        f"  Embeddings        {e.embeddings}" + (f"   chat {e.chat}" if e.chat else ""),
        f"  State             {facts.state_dir}   (kept across restarts; `make clean-state` wipes it)",
        "",
    ]
    return "\n".join(lines)
