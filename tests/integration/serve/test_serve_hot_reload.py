"""Registry hot reload: a model registered while requests run is routable within 2 s, and no request fails."""

from __future__ import annotations

import threading
import time
import uuid

import requests

from core.models import ModelType
from tests.fixtures.eventually import eventually
from tests.fixtures.serve import wait_routable

CHAT = [{"role": "user", "content": "under load"}]


class Load:
    """Threads sending chat requests to one model until stopped; counts answers by status."""

    def __init__(self, url: str, token: str, model: str, threads: int = 4) -> None:
        self.url, self.token, self.model = url, token, model
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self._stop.is_set():
            try:
                status = session.post(self.url, json={"model": self.model, "messages": CHAT}, headers=headers,
                                      timeout=10).status_code
            except requests.RequestException:
                status = 0
            self.statuses.append(status)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


def _first_success(url: str, token: str, model: str, timeout: float) -> float:
    start = time.monotonic()

    def answered() -> bool:
        response = requests.post(url, json={"model": model, "messages": CHAT},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code in (200, 404), response.text  # not routed yet, or routed: nothing else
        return response.status_code == 200

    eventually(answered, timeout, f"{model} routable", ignore=())
    return time.monotonic() - start


def test_model_registered_under_load_is_routable_within_2s_without_failures(gateway, register, user_token,
                                                                              stand_in_upstream):
    url = f"{gateway}/v2/serve/chat/completions"
    model = f"hot-{uuid.uuid4().hex[:8]}"
    with Load(url, user_token, "chat") as load:
        time.sleep(0.3)
        register(model, "stand-in-chat", stand_in_upstream)
        elapsed = _first_success(url, user_token, model, timeout=5)
        time.sleep(0.3)
    assert elapsed <= 2.0, f"routable after {elapsed:.2f} s"
    assert len(load.statuses) > 20 and set(load.statuses) == {200}


def test_withdrawn_registration_stops_routing_within_2s(gateway, register, registry, user_token, stand_in_upstream):
    url = f"{gateway}/v2/serve/chat/completions"
    model = f"gone-{uuid.uuid4().hex[:8]}"
    register(model, "stand-in-chat", stand_in_upstream)
    _first_success(url, user_token, model, timeout=5)
    registry.set_registration(model, None)
    eventually(lambda: requests.post(url, json={"model": model, "messages": CHAT}, timeout=10,
                                     headers={"Authorization": f"Bearer {user_token}"}).status_code == 404,
               2.0, "the withdrawn model unrouted", ignore=())


def test_models_list_follows_the_registry(gateway, register, user_token, stand_in_upstream):
    model = f"listed-{uuid.uuid4().hex[:8]}"
    register(model, "stand-in-embed", stand_in_upstream, model_type=ModelType.EMBEDDING)
    assert wait_routable(gateway, model, user_token, timeout=5) <= 2.0
