"""The MCP client in this process against the test MCP server: with the default settings (no network opened) a
loopback address is refused, by IP and by a name that resolves to it, before any byte is sent; opened, it connects."""

from __future__ import annotations

import asyncio
from ipaddress import ip_network

import pytest

from services.mcp.connection import ServerSpec, probe
from services.mcp.settings import McpSettings


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_by_default_by_address_and_by_name(mcp_server, host):
    url = mcp_server.url.replace("127.0.0.1", host)
    result = asyncio.run(probe(ServerSpec("s", "local", url), McpSettings(allowed_networks=[])))
    assert result.ok is False and "private or loopback" in result.error and "LISA_MCP_ALLOWED_NETWORKS" in result.error


def test_an_opened_network_connects(mcp_server):
    settings = McpSettings(allowed_networks=[ip_network("127.0.0.0/8"), ip_network("::1/128")])
    result = asyncio.run(probe(ServerSpec("s", "local", mcp_server.url.replace("127.0.0.1", "localhost")), settings))
    assert result.ok is True and [t.name for t in result.tools] == ["slow_echo", "fail"]
