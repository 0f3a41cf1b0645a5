"""Run the gateway: `python -m services.serve` (settings: services/serve/settings.py, platform: LISA_PLATFORM)."""

from __future__ import annotations

import os
import tempfile

import uvicorn

from services.serve.settings import ServeSettings


def main() -> None:
    settings = ServeSettings()
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker keeps its own counters: in multiprocess mode /metrics sums them whichever worker answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="lisa-serve-metrics-")
    uvicorn.run(
        "services.serve.app:create_app", factory=True, host=settings.host, port=settings.port, workers=settings.workers,
        loop="uvloop", http="httptools", lifespan="on", access_log=False, server_header=False,
        log_level=settings.log_level.lower(), timeout_keep_alive=settings.keep_alive_s, proxy_headers=False,
    )


if __name__ == "__main__":
    main()
