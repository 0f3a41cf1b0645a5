"""`python -m services.local` (what `make run` starts): the whole platform on this machine. See services/local/stack.py.

Every flag has an environment variable (LISA_<FLAG>, e.g. --serve-port = LISA_SERVE_PORT); flags win.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from services.local.settings import PORTS, LocalSettings


def parse_args(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m services.local", description="Run LISA locally, offline.")
    parser.add_argument("--state-dir", type=Path, help="where state is kept across restarts (default: <repo>/.lisa)")
    parser.add_argument("--stage", help="reads Pulumi.<stage>.yaml (default: dev)")
    for field, purpose in PORTS.items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, help=f"port of {purpose} (0: any free port)")
    parser.add_argument("--upstream-url", help="an OpenAI-compatible server to register models from, e.g. "
                                               "http://127.0.0.1:11434/v1")
    parser.add_argument("--upstream-models", help="comma-separated model names (default: the server's /models)")
    parser.add_argument("--web-dist", type=Path, help="the built web UI (default: web/dist)")
    args = parser.parse_args(argv)
    return {k: v for k, v in vars(args).items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    overrides = parse_args(argv)
    try:
        settings = LocalSettings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            print(f"error: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}", file=sys.stderr)
        return 2
    from services.local.stack import LocalStack  # after argument checks: --help stays instant

    return LocalStack(settings).run()


if __name__ == "__main__":
    sys.exit(main())
