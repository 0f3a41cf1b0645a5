"""L5 on the real gateway: a flood of random (unknown) API tokens costs at most one tokens-table read each while
they are remembered. Serve's AWS calls go through a counting proxy in front of the emulator."""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.fixtures.serve import wait_routable
from tests.integration.serve.conftest import run_gateway


class CountingProxy:
    """Forwards every AWS call to the emulator; counts GetItem calls on one table."""

    def __init__(self, target: str, table: str) -> None:
        self.reads = 0
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("x-amz-target", "").endswith(".GetItem") and json.loads(body).get("TableName") == table:
                    with lock:
                        proxy.reads += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.post(f"{target}{self.path}", data=body, headers=headers, timeout=30)
                self.send_response(answer.status_code)
                for name in ("content-type", "x-amz-crc32", "x-amzn-requestid"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def counted_gateway(serve_platform, models, master_key, moto_endpoint, test_output):
    proxy = CountingProxy(moto_endpoint, serve_platform.tables.tokens)
    try:
        with run_gateway(serve_platform, test_output / "serve-token-flood.log",
                         env={"LISA_AWS_ENDPOINT_URL": proxy.url}) as base:
            wait_routable(base, "chat", master_key)
            yield base, proxy
    finally:
        proxy.close()


def test_a_flood_of_random_tokens_costs_at_most_one_lookup_each(counted_gateway, user_token):
    base, proxy = counted_gateway
    tokens = [f"lisa-{secrets.token_urlsafe(32)}" for _ in range(150)]
    before = proxy.reads

    def call(token: str) -> int:
        return requests.get(f"{base}/v1/models", headers={"authorization": f"Bearer {token}"}, timeout=10).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(call, tokens * 3))
    assert set(statuses) == {401}
    assert proxy.reads - before <= len(tokens), f"{proxy.reads - before} table reads for {len(tokens)} tokens"
    assert call(user_token) == 200  # a real token still gets through
