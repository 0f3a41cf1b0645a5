"""The models the local stack registers at start, through the admin API like any admin would.

- The user's own OpenAI-compatible server (`LISA_UPSTREAM_URL`): each of its models (named in
  `LISA_UPSTREAM_MODELS`, else listed by its `/models`) as a LiteLLM-only model `openai/<name>` at that URL.
- The local model servers: the embedding server's MiniLM model, and the chat server's SmolLM2 model unless the
  stack runs without it (`LISA_LOCAL_CHAT_MODEL=false`).

Registering is idempotent: a model already registered with the same name and URL is left alone; one whose URL
changed (another port, another server) is deleted and registered again.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import requests

from core.models import MODEL_ID_PATTERN, ModelSpec

_TERMINAL = {"InService", "Failed", "Stopped"}


@dataclass
class Registered:
    model_id: str
    model_type: str
    status: str
    reason: str | None = None


def model_id_for(name: str) -> str:
    """A valid modelId from an upstream's model name: `llama3.1:8b` → `llama3-1-8b`."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-") or "model"
    if not re.match(MODEL_ID_PATTERN, slug):
        raise ValueError(f"cannot derive a model id from {name!r}")
    return slug


def looks_like_embedding(name: str) -> bool:
    # Upstreams do not say what a model does; embedding models say it in their names (nomic-embed-text, bge-m3...).
    return bool(re.search(r"embed|bge-|e5-|minilm|gte-", name.lower()))


def upstream_payload(base_url: str, name: str, api_key: str | None = None) -> dict[str, Any]:
    embedding = looks_like_embedding(name)
    payload: dict[str, Any] = {
        "modelId": model_id_for(name),
        "modelName": f"openai/{name}",
        "modelType": "embedding" if embedding else "textgen",
        "streaming": not embedding,
        "modelUrl": base_url,
    }
    if api_key:
        payload["apiKey"] = api_key
    ModelSpec.model_validate(payload)  # fail here, naming the model, rather than as a 422 later
    return payload


def local_payload(base_url: str, served_name: str, model_type: str,
                  context_window: int | None = None) -> dict[str, Any]:
    """A local model server's model (embedding or textgen), by the name the server answers to."""
    payload = {"modelId": model_id_for(served_name), "modelName": f"openai/{served_name}", "modelType": model_type,
               "streaming": model_type != "embedding", "modelUrl": base_url}
    if context_window:
        payload["contextWindow"] = context_window  # the chat fits attached documents to it
    ModelSpec.model_validate(payload)
    return payload


def discover_upstream_models(base_url: str, api_key: str | None = None, timeout: float = 10.0) -> list[str]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = requests.get(f"{base_url}/models", headers=headers, timeout=timeout)
    response.raise_for_status()
    return [m["id"] for m in response.json().get("data", []) if isinstance(m, dict) and m.get("id")]


class AdminClient:
    """The admin API's /models routes, as the local stack uses them."""

    def __init__(self, api_url: str, credential: str, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {credential}"
        self.timeout = timeout

    def get(self, model_id: str) -> dict[str, Any] | None:
        response = self.session.get(f"{self.api_url}/models/{model_id}", timeout=self.timeout)
        if response.status_code == 404:
            return None
        self._raise_for(response)
        return response.json()["model"]

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(f"{self.api_url}/models", json=payload, timeout=self.timeout)
        self._raise_for(response)
        return response.json()["model"]

    def delete(self, model_id: str) -> None:
        response = self.session.delete(f"{self.api_url}/models/{model_id}", timeout=self.timeout)
        if response.status_code != 404:
            self._raise_for(response)

    @staticmethod
    def _raise_for(response: requests.Response) -> None:
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = f"{body.get('error')}: {body.get('message')}"
            except ValueError:
                detail = response.text[:200]
            raise RuntimeError(
                f"admin API {response.request.method} {response.url} answered {response.status_code} ({detail})")

    def wait_settled(self, model_id: str, timeout: float) -> dict[str, Any] | None:
        """The model once its status is final (InService, Failed, Stopped); the last record seen on timeout."""
        deadline = time.monotonic() + timeout
        record = self.get(model_id)
        while record is not None and record.get("status") not in _TERMINAL and time.monotonic() < deadline:
            time.sleep(0.5)
            record = self.get(model_id)
        return record

    def wait_gone(self, model_id: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.get(model_id) is not None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"model {model_id} was not deleted within {timeout:.0f}s")
            time.sleep(0.5)


def same_target(record: dict[str, Any], payload: dict[str, Any]) -> bool:
    return record.get("modelName") == payload["modelName"] and record.get("modelUrl") == payload.get("modelUrl")


def ensure_registered(admin: AdminClient, payload: dict[str, Any], timeout: float) -> Registered:
    model_id = payload["modelId"]
    record = admin.get(model_id)
    if record is not None and not same_target(record, payload):
        admin.delete(model_id)
        admin.wait_gone(model_id, timeout)
        record = None
    if record is None:
        admin.create(payload)
    record = admin.wait_settled(model_id, timeout) or {}
    return Registered(model_id, payload["modelType"], record.get("status", "unknown"), record.get("statusReason"))
