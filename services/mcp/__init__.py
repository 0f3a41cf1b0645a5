"""The platform's MCP client: tools from the MCP servers users register (LISA's "MCP connections") in chat.

- `addresses`: which network addresses an MCP URL may reach (no metadata/link-local, no private ranges unless an
  admin opens them) and the URL rules;
- `guarded_http`: the HTTP client every MCP connection uses, checking each address it connects to;
- `connection`: one connected server (Streamable HTTP or SSE, through the official `mcp` SDK): list and call tools,
  bounded by timeouts;
- `tools`: MCP tools as OpenAI `tools` (unique, valid function names) and tool results as capped text (pure);
- `tool_loop`: the model ↔ tools loop, streaming events;
- `settings`: LISA_MCP_* limits.
Nothing here knows FastAPI; the api's routes (services/api/mcp_servers.py, tool_chat.py) drive it.
"""
