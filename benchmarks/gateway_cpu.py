"""Serve's CPU per request, counted in instructions (callgrind), so two versions compare exactly on a busy machine.

Wall-clock CPU time per request moves with the load of a shared 2-core box; instruction counts do not. This starts
the emulator, the stand-in upstream and serve (from this checkout, or `--repo` another one: e.g. a worktree of an
older commit) under `valgrind --tool=callgrind` with instrumentation off, warms it up, switches instrumentation on for
`--requests` sequential non-streaming chats over one kept-alive connection (the same body as bench-gateway's), and
prints the instructions serve spent per request. Timed background work (the registry poll, usage flushes) is pushed
out of the window, so the figure does not depend on how fast the run goes. Run: `python benchmarks/gateway_cpu.py [--repo DIR] [--requests 2000]`.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from benchmarks.gateway import BENCH_GROUP, CHAT_BODY, LOG_DIR, _platform  # noqa: E402
from tests.fixtures import processes  # noqa: E402
from tests.fixtures.eventually import eventually  # noqa: E402


def _token(platform) -> str:
    from services.identity.tokens import TokenStore

    return TokenStore(platform.tables.tokens).issue(user_id="bench", username="bench", name="cpu benchmark",
                                                    groups=[BENCH_GROUP])[0]


_PRUNE = """
import json, sys, typing
from pydantic import BaseModel
from core.platform import PlatformOutputs

def prune(model, data):
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or not isinstance(data, dict):
        return data
    by_wire = {(f.alias or name): (name, f) for name, f in model.model_fields.items()}
    by_wire.update({name: (name, f) for name, f in model.model_fields.items()})
    out = {}
    for key, value in data.items():
        if key in by_wire:
            field = by_wire[key][1].annotation
            inner = [a for a in typing.get_args(field) if isinstance(a, type) and issubclass(a, BaseModel)]
            out[key] = prune(inner[0] if inner else field, value) if not isinstance(value, list) else value
    return out

print(json.dumps(prune(PlatformOutputs, json.load(sys.stdin))))
"""


def platform_json_for(repo: Path, platform) -> str:
    """The platform as the serve of `repo` reads it: fields that serve does not know (it was older) left out."""
    return subprocess.run([sys.executable, "-c", _PRUNE], input=platform.model_dump_json(), text=True, check=True,
                          capture_output=True, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}).stdout


_REGISTER = """
import sys
from core.models import ModelRecord
from core.registry import ModelRegistry, Registration
table, upstream, group = sys.argv[1:]
registry = ModelRegistry(table)
registry.create(ModelRecord(model_id="bench-chat", model_name="openai/stand-in-chat", model_url=upstream))
groups = {"allowed_groups": [group]} if "allowed_groups" in Registration.model_fields else {}
registry.set_registration("bench-chat", Registration(
    model_name="bench-chat", model_type="textgen", streaming=True, **groups,
    litellm_params={"model": "openai/stand-in-chat", "api_base": upstream}))
"""


def _register_with(repo: Path, platform, upstream: str) -> None:
    """The benchmark model, registered by `repo`'s own code (an older serve reads only what its code wrote)."""
    subprocess.run([sys.executable, "-c", _REGISTER, platform.tables.models, upstream, BENCH_GROUP], check=True,
                   cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})


def _total_instructions(out_dir: str) -> int:
    total = 0
    for path in glob.glob(f"{out_dir}/callgrind.out*"):
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    return total


def measure(repo: Path, requests_n: int) -> float:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    out_dir = tempfile.mkdtemp(prefix="lisa-callgrind-")
    with ExitStack() as stack:
        platform = stack.enter_context(_platform(stack))
        upstream = stack.enter_context(processes.stand_in_upstream(log=LOG_DIR / "cpu-stand-in.log"))
        _register_with(repo, platform, upstream)
        token = _token(platform)
        port = processes.free_port()
        env = {**os.environ, "LISA_PLATFORM": platform_json_for(repo, platform), "LISA_SERVE_PORT": str(port),
               "LISA_SERVE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(repo),
               # Work on a timer (the registry poll, usage flushes) would count more the slower the run goes:
               # kept out of the window, so the figure is the request path's alone.
               "LISA_SERVE_REGISTRY_POLL_S": "3600", "LISA_SERVE_USAGE_FLUSH_S": "300",
               # Under callgrind a request takes ~50x longer: a rate-limit slice lives as many requests as it would.
               "LISA_SERVE_RATE_LIMIT_SLICE_TTL_S": "100"}
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_dir}/callgrind.out",
             sys.executable, "-m", "services.serve"], cwd=repo, env=env, stdout=subprocess.DEVNULL,
            stderr=open(LOG_DIR / "cpu-serve.log", "wb"), start_new_session=True)
        stack.callback(processes.stop, proc, 30)
        base = f"http://127.0.0.1:{port}"
        eventually(lambda: requests.get(f"{base}/health", timeout=5).ok, 600, "serve under valgrind")
        body = {**CHAT_BODY, "model": "bench-chat"}
        with requests.Session() as session:
            headers = {"Authorization": f"Bearer {token}"}
            eventually(lambda: session.post(f"{base}/v2/serve/chat/completions", json=body, headers=headers,
                                            timeout=60).ok, 120, "the benchmark model routable")
            for _ in range(200):  # warm: caches filled, code paths compiled
                session.post(f"{base}/v2/serve/chat/completions", json=body, headers=headers, timeout=60)
            subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
            started = time.monotonic()
            for _ in range(requests_n):
                response = session.post(f"{base}/v2/serve/chat/completions", json=body, headers=headers, timeout=60)
                response.raise_for_status()
            elapsed = time.monotonic() - started
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    total = _total_instructions(out_dir)
    print(f"{repo}: {total / requests_n:,.0f} instructions per request ({requests_n} requests, "
          f"{elapsed:.0f} s under callgrind)")
    return total / requests_n


def main() -> None:
    parser = argparse.ArgumentParser(description="serve's instructions per request, under callgrind")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose serve to measure")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    measure(args.repo.resolve(), args.requests)


if __name__ == "__main__":
    main()
