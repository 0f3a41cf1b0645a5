"""Run the gateway: `python -m services.serve` (settings: services/serve/settings.py, platform: LISA_PLATFORM)."""

from __future__ import annotations

import uvicorn

from services.serve.settings import ServeSettings


def main() -> None:
    settings = ServeSettings()
    uvicorn.run(
        "services.serve.app:create_app", factory=True, host=settings.host, port=settings.port, workers=settings.workers,
        loop="uvloop", http="httptools", lifespan="on", access_log=False, server_header=False,
        log_level=settings.log_level.lower(), timeout_keep_alive=settings.keep_alive_s, proxy_headers=False,
    )


if __name__ == "__main__":
    main()
