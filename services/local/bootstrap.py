"""What the local stack sets up once the apps answer, through the admin API as any admin would: the models it
registers at start (services/local/registrations.py) and the API token it prints for OpenAI clients."""

from __future__ import annotations

import concurrent.futures

import requests

from services.local import registrations
from services.local.plan import CHAT_MODEL, EMBEDDING_MODEL, LocalPlan
from services.local.state import LocalSecrets, StateFolder

TOKEN_NAME = "local stack (printed at start)"


def register_models(plan: LocalPlan, master_key: str) -> tuple[list[registrations.Registered], list[str]]:
    """The local model servers' models and the user's upstream models, registered (or found) and settled; a note per
    model that could not be, for the banner (the stack itself is up either way)."""
    s = plan.settings
    admin = registrations.AdminClient(plan.url("api_port"), master_key)
    payloads = [registrations.local_payload(plan.url("embeddings_port", "/v1"), EMBEDDING_MODEL, "embedding")]
    if plan.chat_url:
        from services.generation.settings import GenerationServerSettings

        payloads.append(registrations.local_payload(plan.chat_url, CHAT_MODEL, "textgen",
                                                    GenerationServerSettings().context_tokens))
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
    results = []
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(registrations.ensure_registered, admin, p, s.model_ready_timeout_s) for p in payloads]
        for payload, future in zip(payloads, futures):
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - reported in the banner
                notes.append(f"could not register {payload['modelId']}: {exc}")
    return results, notes


def api_token(api_url: str, secrets: LocalSecrets, state: StateFolder, *, timeout: float = 30.0) -> str:
    """The OpenAI-client token kept in the state folder, issued by the api (POST /api-tokens/{admin user} with the
    master key) again when the api no longer accepts the kept one (a lost emulator state, a revoked or expired
    token)."""
    api = api_url.rstrip("/")
    if secrets.api_token and _accepted(api, secrets.api_token, timeout):
        return secrets.api_token
    response = requests.post(f"{api}/api-tokens/{secrets.admin_username}", json={"name": TOKEN_NAME},
                             headers={"Authorization": f"Bearer {secrets.master_key}"}, timeout=timeout)
    if response.status_code != 200:
        raise RuntimeError(f"the api did not issue the local API token: {response.status_code} {response.text[:200]}")
    token = response.json()["token"]
    state.save_api_token(token)
    return token


def _accepted(api: str, token: str, timeout: float) -> bool:
    response = requests.get(f"{api}/api-tokens", headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    if response.status_code in (401, 403):
        return False
    response.raise_for_status()
    return True
