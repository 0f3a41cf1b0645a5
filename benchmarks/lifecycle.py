"""Model lifecycle latency: POST /models → InService through the real engine (Pulumi CLI + Automation API + the
dynamic-provider host) against the AWS emulator.

One process tree: the emulator with the stage provisioned, the stand-in upstream, the serve gateway and the api app
(uvicorn, its engine on a file backend, readiness `deployed` since no task runs in the emulator). Measures:
- a LiteLLM-only model (OpenAI-compatible, the stand-in): POST → registration visible in the registry, POST →
  routable by serve (listed in /v1/models), POST → InService;
- an ECS-hosted model (LISA's README payload): POST → InService;
- 10 ECS models posted at once: POST → all InService, against one model measured in the same run (the ratio).
Each single-model figure is the median of `--repeat` runs (each model deleted after). Goals: ECS ≤ 30 s,
LiteLLM-only routable ≤ 2 s, 10 in parallel ≤ 2× one. Run: `make bench-lifecycle` (or `python benchmarks/lifecycle.py`).
All processes share this machine's cores: figures are for comparison within one run, not absolutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
os.environ.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")

import psutil  # noqa: E402
import requests  # noqa: E402

from tests.fixtures import processes  # noqa: E402
from tests.fixtures.model_payloads import ecs_model, openai_compatible_model  # noqa: E402
from tests.fixtures.stage import TEST_MASTER_KEY, stage_dict  # noqa: E402

ADMIN = {"Authorization": f"Bearer {TEST_MASTER_KEY}"}
LOG_DIR = Path(os.environ.get("LISA_BENCH_LOGS", tempfile.gettempdir())) / "lisa-bench-lifecycle"


def until(predicate: Callable[[], bool], timeout: float = 300, interval: float = 0.02) -> float:
    """Seconds (monotonic) at which `predicate` first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    raise TimeoutError("the condition never held")


class Bench:
    def __init__(self, api: str, gateway: str, registry, engine_processes: list[psutil.Process]) -> None:
        self.api, self.gateway, self.registry = api, gateway, registry
        self.engine_processes = engine_processes  # the api (with the CLI runs and the provider host under it) and moto

    def cpu(self) -> float:
        """CPU seconds used so far by the engine's process trees and the emulator: each live process (the shared
        provider host lives as long as the api) plus what its reaped children used (the CLI runs)."""
        total = 0.0
        for root in self.engine_processes:
            for process in [root, *root.children(recursive=True)]:
                try:
                    t = process.cpu_times()
                except psutil.Error:
                    continue  # ended between the listing and the read: its parent has it once reaped
                total += t.user + t.system + t.children_user + t.children_system
        return total

    def status(self, model_id: str) -> str | None:
        response = requests.get(f"{self.api}/models/{model_id}", headers=ADMIN, timeout=30)
        return response.json()["model"]["status"] if response.status_code == 200 else None

    def settled(self, model_id: str) -> bool:
        status = self.status(model_id)
        if status == "Failed":
            reason = requests.get(f"{self.api}/models/{model_id}", headers=ADMIN, timeout=30).json()["model"]["statusReason"]
            raise RuntimeError(f"{model_id} failed: {reason}")
        return status == "InService"

    def routable(self, model_id: str) -> bool:
        listed = requests.get(f"{self.gateway}/v1/models", headers=ADMIN, timeout=30).json()
        return any(m["id"] == model_id for m in listed.get("data", []))

    def post(self, payload: dict) -> float:
        start = time.monotonic()
        response = requests.post(f"{self.api}/models", headers=ADMIN, json=payload, timeout=30)
        response.raise_for_status()
        return start

    def delete(self, *model_ids: str) -> None:
        for model_id in model_ids:
            requests.delete(f"{self.api}/models/{model_id}", headers=ADMIN, timeout=30).raise_for_status()
        for model_id in model_ids:
            until(lambda m=model_id: self.status(m) is None, interval=0.1)

    def litellm_only(self, model_id: str, upstream: str) -> dict[str, float]:
        cpu = self.cpu()
        start = self.post(openai_compatible_model(model_id, upstream))
        visible = until(lambda: self.registry.get_registration(model_id) is not None, interval=0.01)
        routed = until(lambda: self.routable(model_id))
        in_service = until(lambda: self.settled(model_id), interval=0.05)
        cpu = self.cpu() - cpu
        self.delete(model_id)
        return {"visible": visible - start, "routable": routed - start, "in_service": in_service - start, "cpu": cpu}

    def ecs(self, model_id: str) -> tuple[float, float]:
        cpu = self.cpu()
        start = self.post(ecs_model(modelId=model_id))
        in_service = until(lambda: self.settled(model_id), interval=0.05)
        cpu = self.cpu() - cpu
        self.delete(model_id)
        return in_service - start, cpu

    def ecs_parallel(self, count: int) -> tuple[float, float]:
        ids = [f"bench-par-{i}" for i in range(count)]
        cpu = self.cpu()
        start = time.monotonic()
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(lambda m: self.post(ecs_model(modelId=m)), ids))
        done = until(lambda: all(self.settled(m) for m in ids), interval=0.1)
        cpu = self.cpu() - cpu
        self.delete(*ids)
        return done - start, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per single-model figure (median)")
    parser.add_argument("--parallel", type=int, default=10, help="models created at once")
    options = parser.parse_args()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        endpoint = stack.enter_context(processes.moto_server(log=LOG_DIR / "moto.log"))
        os.environ.update(LISA_AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                          LISA_REGION="us-east-1")
        from core.config import parse_stage_config
        from core.registry import ModelRegistry
        from services.local.emulated_aws import provision

        platform = provision(parse_stage_config(stage_dict()))
        upstream = stack.enter_context(processes.stand_in_upstream(log=LOG_DIR / "upstream.log"))
        gateway, _ = stack.enter_context(processes.serve_app(platform.model_dump_json(), log=LOG_DIR / "serve.log"))
        state = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lisa-bench-engine-")))
        api, api_process = stack.enter_context(processes.api_app(
            {"LISA_PLATFORM": platform.model_dump_json(), **processes.engine_env(state)}, log=LOG_DIR / "api.log"))
        moto = next(p for p in psutil.Process().children(recursive=True) if "moto.server" in " ".join(p.cmdline()))
        bench = Bench(api, gateway, ModelRegistry(platform.tables.models), [psutil.Process(api_process.pid), moto])

        bench.litellm_only("bench-warmup", upstream)  # first use pays one-time imports and caches
        lite = [bench.litellm_only(f"bench-lite-{i}", upstream) for i in range(options.repeat)]
        ecs = [bench.ecs(f"bench-ecs-{i}") for i in range(options.repeat)]
        one, one_cpu = statistics.median(e[0] for e in ecs), statistics.median(e[1] for e in ecs)
        parallel, parallel_cpu = bench.ecs_parallel(options.parallel)

    median = {k: statistics.median(r[k] for r in lite) for k in ("visible", "routable", "in_service", "cpu")}
    cores = os.cpu_count() or 1
    print(f"model lifecycle against the emulator (median of {options.repeat}; engine: file backend, readiness deployed; "
          f"{cores} cores, load average {os.getloadavg()[0]:.1f} at the end)")
    print(f"  LiteLLM-only  POST → registration visible   {median['visible']:6.2f} s   (goal ≤ 2 s)")
    print(f"  LiteLLM-only  POST → routable by serve      {median['routable']:6.2f} s   (goal ≤ 2 s)")
    print(f"  LiteLLM-only  POST → InService              {median['in_service']:6.2f} s   "
          f"({median['cpu']:.2f} CPU-s: Pulumi CLI, provider process, api, emulator)")
    print(f"  ECS model     POST → InService              {one:6.2f} s   (goal ≤ 30 s; {one_cpu:.2f} CPU-s)")
    print(f"  {options.parallel} ECS models at once → all InService   {parallel:6.2f} s   "
          f"= {parallel / one:.2f}× one model (goal ≤ 2×; {parallel_cpu:.1f} CPU-s, "
          f"so ≥ {parallel_cpu / cores:.1f} s on {cores} cores)")
    print(f"  logs: {LOG_DIR}")


if __name__ == "__main__":
    main()
