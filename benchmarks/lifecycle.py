"""Model lifecycle latency: POST /models → InService through the real engine (Pulumi CLI + Automation API + the
dynamic-provider host) against the AWS emulator.

One process tree: the emulator with the stage provisioned, the stand-in upstream, the serve gateway and the api app
(uvicorn, its engine on a file backend, readiness `deployed` since no task runs in the emulator). Measures:
- a LiteLLM-only model (OpenAI-compatible, the stand-in): POST → registration visible in the registry, POST →
  routable by serve (listed in /v1/models), POST → InService;
- an ECS-hosted model (LISA's README payload): POST → InService;
- 10 ECS models posted at once: POST → all InService, against one model measured in the same run (the ratio).
- the CPU-seconds of each create and delete by part (the Pulumi CLI runs, the shared provider host, the api, the
  emulator), in runs that poll slowly enough not to add to them.
Each single-model figure is the median of `--repeat` runs (each model deleted after). Goals: ECS ≤ 30 s,
LiteLLM-only routable ≤ 2 s, 10 in parallel ≤ 2× one; ≤ 1.0 CPU-s per LiteLLM-only create, ≤ 1.5 per ECS create.
Run: `make bench-lifecycle` (or `python benchmarks/lifecycle.py`). All processes share this machine's cores:
wall-clock figures are for comparison within one run; CPU-seconds compare across runs better. To compare two
checkouts: `--save before.json` in one, `--baseline before.json` in the other (prints this run / that run).
"""

from __future__ import annotations

import argparse
import json
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

    def cpu_parts(self) -> dict[str, float]:
        """CPU seconds used so far, by part: the Pulumi CLI runs (reaped children of the api), the shared provider
        host (the api's live child), the api itself and the emulator."""
        parts = dict.fromkeys(("cli", "provider host", "api", "emulator"), 0.0)
        api, moto = self.engine_processes
        for process in [api, *api.children(recursive=True)]:
            try:
                t = process.cpu_times()
            except psutil.Error:
                continue  # ended between the listing and the read: its parent has it once reaped
            own = t.user + t.system
            if process.pid == api.pid:
                parts["api"] += own
            elif "pulumi" in process.name():
                parts["cli"] += own  # a CLI run still going
            else:
                parts["provider host"] += own
            parts["cli"] += t.children_user + t.children_system
        t = moto.cpu_times()
        parts["emulator"] += t.user + t.system
        return parts

    def cpu(self) -> float:
        """CPU seconds used so far by the engine's process trees and the emulator."""
        return sum(self.cpu_parts().values())

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

    def spent(self, since: dict[str, float]) -> dict[str, float]:
        now = self.cpu_parts()
        return {part: now[part] - since[part] for part in now}

    def litellm_only(self, model_id: str, upstream: str) -> dict[str, float]:
        cpu = self.cpu_parts()
        start = self.post(openai_compatible_model(model_id, upstream))
        visible = until(lambda: self.registry.get_registration(model_id) is not None, interval=0.01)
        routed = until(lambda: self.routable(model_id))
        in_service = until(lambda: self.settled(model_id), interval=0.05)
        cpu = self.spent(cpu)
        self.delete(model_id)
        return {"visible": visible - start, "routable": routed - start, "in_service": in_service - start,
                "cpu": sum(cpu.values())}

    def ecs(self, model_id: str) -> tuple[float, float]:
        cpu = self.cpu_parts()
        start = self.post(ecs_model(modelId=model_id))
        in_service = until(lambda: self.settled(model_id), interval=0.05)
        cpu = self.spent(cpu)
        self.delete(model_id)
        return in_service - start, sum(cpu.values())

    def quiet(self, model_id: str, payload: dict) -> tuple[dict[str, float], dict[str, float]]:
        """CPU by part of one create and of its delete, polling the api only every 0.25 s: the latency runs poll
        the registry every 10 ms and the api every 50 ms, which the emulator and the api pay for too."""
        cpu = self.cpu_parts()
        self.post(payload)
        until(lambda: self.settled(model_id), interval=0.25)
        created = self.spent(cpu)
        cpu = self.cpu_parts()
        requests.delete(f"{self.api}/models/{model_id}", headers=ADMIN, timeout=30).raise_for_status()
        until(lambda: self.status(model_id) is None, interval=0.25)
        return created, self.spent(cpu)

    def ecs_parallel(self, count: int) -> tuple[float, float]:
        ids = [f"bench-par-{i}" for i in range(count)]
        cpu = self.cpu_parts()
        start = time.monotonic()
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(lambda m: self.post(ecs_model(modelId=m)), ids))
        done = until(lambda: all(self.settled(m) for m in ids), interval=0.1)
        cpu = self.spent(cpu)
        self.delete(*ids)
        return done - start, sum(cpu.values())


def _median_parts(runs: list[dict[str, float]]) -> dict[str, float]:
    parts = {part: statistics.median(r[part] for r in runs) for part in runs[0]}
    return {**parts, "total": statistics.median(sum(r.values()) for r in runs)}


def _parts(parts: dict[str, float]) -> str:
    return ", ".join(f"{part} {value:.2f}" for part, value in parts.items() if part != "total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per single-model figure (median)")
    parser.add_argument("--parallel", type=int, default=10, help="models created at once")
    parser.add_argument("--save", help="write this run's figures to this JSON file")
    parser.add_argument("--baseline", help="a --save file of an earlier run (e.g. on main): print this run / that run")
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

        load_before = os.getloadavg()[0]
        bench.litellm_only("bench-warmup", upstream)  # first use pays one-time imports and caches
        lite = [bench.litellm_only(f"bench-lite-{i}", upstream) for i in range(options.repeat)]
        ecs = [bench.ecs(f"bench-ecs-{i}") for i in range(options.repeat)]
        one, one_cpu = statistics.median(e[0] for e in ecs), statistics.median(e[1] for e in ecs)
        quiet_lite = [bench.quiet(f"bench-quiet-lite-{i}", openai_compatible_model(f"bench-quiet-lite-{i}", upstream))
                      for i in range(options.repeat)]
        quiet_ecs = [bench.quiet(f"bench-quiet-ecs-{i}", ecs_model(modelId=f"bench-quiet-ecs-{i}"))
                     for i in range(options.repeat)]
        parallel, parallel_cpu = bench.ecs_parallel(options.parallel)
        load_after = os.getloadavg()[0]

    median = {k: statistics.median(r[k] for r in lite) for k in ("visible", "routable", "in_service", "cpu")}
    lite_create, lite_delete = (_median_parts([q[i] for q in quiet_lite]) for i in (0, 1))
    ecs_create, ecs_delete = (_median_parts([q[i] for q in quiet_ecs]) for i in (0, 1))
    figures = {
        "lite_visible_s": median["visible"], "lite_routable_s": median["routable"],
        "lite_in_service_s": median["in_service"], "lite_cpu_s": median["cpu"], "ecs_in_service_s": one,
        "ecs_cpu_s": one_cpu, "parallel_s": parallel, "parallel_ratio": parallel / one, "parallel_cpu_s": parallel_cpu,
        "quiet_lite_create_cpu_s": lite_create["total"], "quiet_lite_delete_cpu_s": lite_delete["total"],
        "quiet_ecs_create_cpu_s": ecs_create["total"], "quiet_ecs_delete_cpu_s": ecs_delete["total"],
    }
    baseline = json.loads(Path(options.baseline).read_text()) if options.baseline else {}

    def vs(key: str) -> str:
        """This run against the baseline run's figure (after / before)."""
        return f"   [{figures[key] / baseline[key]:.2f}× baseline {baseline[key]:.2f}]" if key in baseline else ""

    cores = os.cpu_count() or 1
    print(f"model lifecycle against the emulator (median of {options.repeat}; engine: file backend, readiness deployed; "
          f"{cores} cores, load average {load_before:.1f} at the start, {load_after:.1f} at the end)")
    print(f"  LiteLLM-only  POST → registration visible   {median['visible']:6.2f} s   (goal ≤ 2 s){vs('lite_visible_s')}")
    print(f"  LiteLLM-only  POST → routable by serve      {median['routable']:6.2f} s   (goal ≤ 2 s){vs('lite_routable_s')}")
    print(f"  LiteLLM-only  POST → InService              {median['in_service']:6.2f} s   "
          f"({median['cpu']:.2f} CPU-s: Pulumi CLI, provider process, api, emulator){vs('lite_cpu_s')}")
    print(f"  ECS model     POST → InService              {one:6.2f} s   (goal ≤ 30 s; {one_cpu:.2f} CPU-s)"
          f"{vs('ecs_cpu_s')}")
    print(f"  {options.parallel} ECS models at once → all InService   {parallel:6.2f} s   "
          f"= {parallel / one:.2f}× one model (goal ≤ 2×; {parallel_cpu:.1f} CPU-s, "
          f"so ≥ {parallel_cpu / cores:.1f} s on {cores} cores){vs('parallel_cpu_s')}")
    print("  CPU-s by part, polling every 0.25 s (the runs above poll every 10-50 ms, which costs the api and the "
          "emulator too):")
    for label, parts, key in (("LiteLLM-only create", lite_create, "quiet_lite_create_cpu_s"),
                              ("LiteLLM-only delete", lite_delete, "quiet_lite_delete_cpu_s"),
                              ("ECS create", ecs_create, "quiet_ecs_create_cpu_s"),
                              ("ECS delete", ecs_delete, "quiet_ecs_delete_cpu_s")):
        print(f"    {label:20} {parts['total']:5.2f} CPU-s ({_parts(parts)}){vs(key)}")
    print(f"  goals: ≤ 1.0 CPU-s per LiteLLM-only create, ≤ 1.5 per ECS create, {options.parallel} at once ≤ 2× one")
    if options.save:
        Path(options.save).write_text(json.dumps(figures, indent=2))
        print(f"  figures saved to {options.save}")
    print(f"  logs: {LOG_DIR}")


if __name__ == "__main__":
    main()
