"""The MCP client's pure rules: which addresses a connection may reach, OpenAI names for MCP tools, tool results as
text, tool calls put back together from a stream, and who may see, use and manage a connection."""

from __future__ import annotations

from ipaddress import ip_network
from types import SimpleNamespace

import pytest

from core.errors import InvalidInputError, PermissionDeniedError
from services.api.mcp_server_store import PUBLIC, can_manage, can_see, can_use, check_sharing
from services.identity.principal import Principal
from services.mcp.addresses import checked_url, refusal
from services.mcp.tools import ToolCallAssembler, ToolCatalog, capped, openai_name, parse_arguments, result_text

LOOPBACK = [ip_network("127.0.0.0/8")]


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "fe80::1", "0.0.0.0",
                                     "::ffff:169.254.169.254", "224.0.0.1", "::", "240.0.0.1"])
def test_metadata_link_local_and_reserved_addresses_are_never_reachable(address):
    assert "never" in refusal(address, [ip_network("0.0.0.0/0"), ip_network("::/0")])


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "::1",
                                     "fc00::1", "::ffff:10.0.0.1"])
def test_private_and_loopback_addresses_need_an_admin_to_open_them(address):
    assert "private" in refusal(address)


def test_an_opened_network_is_reachable_and_only_that_one():
    assert refusal("127.0.0.1", LOOPBACK) is None
    assert refusal("10.0.0.1", LOOPBACK) is not None


def test_public_addresses_are_reachable():
    assert refusal("93.184.216.34") is None and refusal("2606:4700::1111") is None


@pytest.mark.parametrize("url", ["ftp://h/x", "http:///x", "http://u:p@h.example/x", "http://h.example:99999/x",
                                 "javascript:alert(1)", "http://169.254.169.254/"])
def test_bad_urls_are_refused(url):
    with pytest.raises(InvalidInputError):
        checked_url(url, LOOPBACK)


def test_host_names_are_left_to_the_connection_check():
    assert checked_url(" https://tools.example.com/mcp ") == "https://tools.example.com/mcp"


def test_tool_names_become_unique_valid_openai_names():
    catalog = ToolCatalog()
    a = catalog.add("s1", "My Server!", "search.docs", "Search", {"type": "object", "properties": {}})
    b = catalog.add("s2", "My Server!", "search.docs", None, None)
    assert a.openai_name == "My_Server__search_docs" and b.openai_name == "My_Server__search_docs_2"
    assert b.parameters == {"type": "object", "properties": {}} and b.description == "search.docs"
    assert catalog.find(b.openai_name).server_id == "s2"
    long = openai_name("s" * 100, "t" * 100, set())
    assert len(long) <= 64 and long.startswith("s" * 20 + "__t")


def test_results_are_text_and_cut_with_a_notice():
    blocks = [SimpleNamespace(type="text", text="one"), SimpleNamespace(type="image", mime_type="image/png")]
    assert result_text(blocks) == "one\n[image image/png]"
    assert result_text([], {"a": 1}) == '{"a":1}'
    text, cut = capped("x" * 50, 10)
    assert cut and text.startswith("x" * 10) and "40 more characters" in text


def test_streamed_tool_calls_are_put_back_together():
    assembler = ToolCallAssembler()
    assembler.add([{"index": 0, "id": "c1", "function": {"name": "srv__echo", "arguments": '{"te'}}])
    assembler.add([{"index": 1, "function": {"name": "srv__fail", "arguments": "{}"}}])
    assembler.add([{"index": 0, "function": {"arguments": 'xt": "hi"}'}}])
    first, second = assembler.calls
    assert (first.id, first.name, parse_arguments(first.arguments)) == ("c1", "srv__echo", {"text": "hi"})
    assert second.id == "call_1" and parse_arguments("[1]") is None and parse_arguments("") == {}


def user(uid: str, *groups: str, admin: bool = False) -> Principal:
    return Principal(id=uid, username=uid, groups=groups, is_admin=admin, method="token")


def test_private_connections_belong_to_their_owner_and_admins_may_not_use_them():
    item = {"owner": "alice", "allowedGroups": [], "enabled": True}
    assert can_use(item, user("alice")) and not can_see(item, user("bob"))
    admin = user("root", admin=True)
    assert can_see(item, admin) and can_manage(item, admin) and not can_use(item, admin)


def test_shared_and_public_connections_and_disabled_ones():
    shared = {"owner": "alice", "allowedGroups": ["team"], "enabled": True}
    assert can_use(shared, user("carol", "team")) and not can_manage(shared, user("carol", "team"))
    public = {"owner": PUBLIC, "allowedGroups": [], "enabled": True}
    assert can_use(public, user("bob"))
    disabled = {**shared, "enabled": False}
    assert not can_see(disabled, user("carol", "team")) and can_see(disabled, user("alice"))
    assert not can_use(disabled, user("alice"))


def test_users_share_with_their_own_groups_only():
    check_sharing(user("carol", "team"), "carol", ["team"])
    with pytest.raises(PermissionDeniedError):
        check_sharing(user("carol", "team"), "carol", ["team", "other"])
    with pytest.raises(PermissionDeniedError):
        check_sharing(user("carol"), PUBLIC, [])
    check_sharing(user("root", admin=True), PUBLIC, ["any"])
