"""The bare pass-through baseline of the gateway benchmark: one aiohttp hop, no auth, no routing, no policy.

It is what "a proxy in Python" costs at the least: read the body, send it to the upstream over a pooled
aiohttp client, stream the answer back. serve must add no more latency than this while doing auth, the
allow-list, groups, rate limits and metering. Run: python benchmarks/bare_hop.py --port 8090 --upstream URL/v1
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web


def make_app(upstream: str) -> web.Application:
    app = web.Application()

    async def startup(app: web.Application) -> None:
        app["client"] = ClientSession(connector=TCPConnector(limit=0), timeout=ClientTimeout(total=600))

    async def cleanup(app: web.Application) -> None:
        await app["client"].close()

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        async with request.app["client"].post(f"{upstream}/{request.match_info['path']}", data=body,
                                              headers={"content-type": "application/json"}) as answer:
            if answer.content_type == "text/event-stream":
                response = web.StreamResponse(status=answer.status, headers={"content-type": "text/event-stream"})
                await response.prepare(request)
                async for chunk in answer.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response
            return web.Response(status=answer.status, body=await answer.read(), content_type=answer.content_type)

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    app.router.add_get("/health", health)
    app.router.add_post("/v1/{path:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream's base URL, ending in /v1")
    args = parser.parse_args()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # as serve runs: the same event loop on both sides
    web.run_app(make_app(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port, access_log=None,
                print=None)


if __name__ == "__main__":
    main()
