"""Run the control plane: `python -m services.api` (settings: services/api/settings.py, platform: LISA_PLATFORM)."""

from __future__ import annotations

import uvicorn

from services.api.settings import ApiSettings


def main() -> None:
    settings = ApiSettings()
    # One worker: the deployment engine's jobs live in this process (leases guard a second task during a rollout).
    uvicorn.run(
        "services.api.app:create_app", factory=True, host=settings.host, port=settings.port, workers=1,
        lifespan="on", access_log=False, server_header=False, log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30, timeout_keep_alive=settings.keep_alive_s,
    )


if __name__ == "__main__":
    main()
