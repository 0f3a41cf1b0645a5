"""Serves the built web UI (`web/dist`) and its runtime `config.json` for the local stack.

Unknown paths answer `index.html` so the UI's own routes (`/chat/<session>`, `/admin/models`) survive a reload.
Without a build it answers a page saying how to make one, rather than a bare 404. Every answer carries the UI's
security headers (components/web_assets.security_headers, as CloudFront sends them in AWS), its CSP allowing
requests only to the serve, api and sign-in URLs that config.json names.

    python -m services.local.web --port 3000 --dist web/dist --config .lisa/web/config.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from components.web_assets import connect_sources, security_headers
from components.web_config import WebRuntimeConfig

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>LISA</title>
<h1>The web UI is not built</h1>
<p>Build it with <code>make run</code> (it builds what is missing) or
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload.
The APIs run meanwhile: see the banner in the terminal.</p>"""


class SpaFiles(StaticFiles):
    """Static files, with index.html for any path that is not a file (client-side routes)."""

    async def get_response(self, path: str, scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in Path(path).name:  # a missing asset stays a 404
                raise
            return await super().get_response("index.html", scope)


class SecurityHeaders:
    """Adds the security headers to every answer; the CSP follows config.json (rewritten at each start)."""

    def __init__(self, app: ASGIApp, config_file: Path) -> None:
        self.app = app
        self.config_file = config_file
        self._cached: tuple[float, list[tuple[bytes, bytes]]] | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        mtime = self.config_file.stat().st_mtime
        if self._cached is None or self._cached[0] != mtime:
            config = WebRuntimeConfig.model_validate_json(self.config_file.read_text())
            connect = connect_sources(config.connect_urls())
            self._cached = (mtime, [(k.lower().encode(), v.encode()) for k, v in security_headers(connect).items()])
        return self._cached[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(dist: Path, config_file: Path) -> Starlette:
    async def config(_: Request) -> Response:
        # Read per request: the local stack rewrites it at each start; never cached by the browser.
        return FileResponse(config_file, media_type="application/json", headers={"cache-control": "no-store"})

    async def not_built(_: Request) -> Response:
        return HTMLResponse(NOT_BUILT, status_code=503)

    async def health(_: Request) -> Response:
        return Response('{"status":"ok"}', media_type="application/json")

    routes = [Route("/config.json", config), Route("/_health", health)]
    if (dist / "index.html").exists():
        routes.append(Mount("/", SpaFiles(directory=dist, html=True)))
    else:
        routes.append(Route("/{path:path}", not_built))
    app = Starlette(routes=routes)
    app.add_middleware(SecurityHeaders, config_file=config_file)
    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dist", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.dist.resolve(), args.config.resolve()), host=args.host, port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
