"""The HTTP client of every MCP connection: it dials only addresses services/mcp/addresses.py allows.

The check sits in the network backend (httpcore2's `connect_tcp`), under every request the MCP SDK makes (POSTs,
the SSE GET, redirects it follows, reconnections): the host is resolved once, every address it resolves to must
pass (a name that also resolves to a refused address is refused, so round-robin DNS cannot smuggle one in), and the
connection is made to the checked address itself, so DNS cannot answer differently between check and connect. TLS
still verifies the certificate against the URL's host name. Environment proxies are ignored (trust_env=False): a
proxy would dial on our behalf, past the check.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Iterable

import httpcore2
import httpx2
from httpcore2 import AnyIOBackend, AsyncNetworkBackend, AsyncNetworkStream

from services.mcp.addresses import Network, refusal


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class GuardedBackend(AsyncNetworkBackend):
    def __init__(self, allowed: Iterable[Network] = ()) -> None:
        self.allowed = tuple(allowed)
        self._inner = AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options=None) -> AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(resolve(host, port), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host} ({type(exc).__name__})") from None
        for address in addresses:
            reason = refusal(address, self.allowed)
            if reason:
                raise httpcore2.ConnectError(f"refused: {reason}")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore2.ConnectError(f"{host} resolves to no address")

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise httpcore2.ConnectError("MCP connections do not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, allowed: Iterable[Network] = ()) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(ssl_context=self._pool._ssl_context, max_connections=10,
                                                   network_backend=GuardedBackend(allowed))


def client_factory(allowed: Iterable[Network], timeout_s: float):
    """An `McpHttpClientFactory` (headers, timeout, auth → AsyncClient) whose clients dial through the guard."""
    allowed = tuple(allowed)

    def factory(headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = None,
                auth: httpx2.Auth | None = None) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(headers=headers, auth=auth, transport=GuardedTransport(allowed), trust_env=False,
                                  timeout=timeout or httpx2.Timeout(timeout_s, read=max(timeout_s, 300.0)),
                                  follow_redirects=False)

    return factory
