"""Gateway overhead: the stand-in upstream called directly vs through a bare aiohttp hop vs through serve vs through
LiteLLM's own proxy.

One process tree: the AWS emulator (tables, secret), the stand-in upstream, the bare hop (benchmarks/bare_hop.py:
no auth, no routing, no policy), serve (1 worker, with everything on: auth, the allow-list, model groups, rate
limits and usage metering, an API token of a group the model allows), serve with pass-through off (every call
through LiteLLM's Router in-process) and LiteLLM's proxy (`litellm --config`, 1 worker, master key).
Measures, per target:
- added latency p50/p99 of non-streaming chat at concurrency 1 (wrk, minus the direct figures),
- streaming time to first chunk p50 (a raw asyncio socket client, sequential),
- requests/s at concurrency 64 for a fixed time and the errors seen (wrk), with the target's CPU ms per request.
The load generator (wrk), the upstream and the target share this machine's cores: figures are for comparison
within one run, not absolutes. Run: `make bench-gateway` (or `python benchmarks/gateway.py [--duration 10]`).

LiteLLM's proxy needs modules that litellm's wheel does not install (its `proxy` extra pins a `litellm-proxy`
distribution the registry does not carry): benchmarks/litellm-proxy-requirements.txt lists them, installed apart
from the venv into `$LISA_CACHE/litellm-proxy-deps` (or wherever `LISA_LITELLM_PROXY_DEPS` points). Without them
the proxy row says why it is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import psutil  # noqa: E402

from tests.fixtures import processes  # noqa: E402

MASTER_KEY = "sk-bench-master-key-0001"
BENCH_GROUP = "bench-team"  # the model is open to this group only, and the token is in it: the group check runs
CHAT_BODY = {"model": "{model}", "messages": [{"role": "user", "content": "hello from the benchmark"}]}
LOG_DIR = Path(os.environ.get("LISA_BENCH_LOGS", tempfile.gettempdir())) / "lisa-bench-gateway"


# wrk ----------------------------------------------------------------------------------------------------------------
def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50/p99 latency (ms), requests and errors from wrk's --latency output."""
    result: dict[str, float] = {}
    for pct in ("50", "99"):
        match = re.search(rf"^\s*{pct}(?:\.000)?%\s+([\d.]+(?:us|ms|s))\s*$", output, re.M)
        if match:
            result[f"p{pct}"] = _ms(match.group(1))
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    result["requests"] = float(re.search(r"(\d+) requests in", output).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["errors"] = float(errors + (int(non2xx.group(1)) if non2xx else 0))
    return result


def wrk(url: str, body: dict, headers: dict[str, str], *, connections: int, duration: float, threads: int = 1,
        delay_ms: int = 0) -> dict:
    """wrk's figures; `delay_ms`: each connection waits that long before each request (a paced load, for the soak)."""
    script = "wrk.method = 'POST'\nwrk.body = [[" + json.dumps(body) + "]]\n" + "".join(
        f"wrk.headers[ [[{k}]] ] = [[{v}]]\n" for k, v in {"Content-Type": "application/json", **headers}.items())
    if delay_ms:
        script += f"function delay() return {int(delay_ms)} end\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        # A 30 s timeout: a slow target is measured as slow, not as failing (wrk's default is 2 s).
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--latency",
                              "--timeout", "30s", "-s", f.name, url], capture_output=True, text=True,
                             timeout=duration + 90).stdout
    finally:
        os.unlink(f.name)
    return parse_wrk(out)


# streaming time to first chunk ---------------------------------------------------------------------------------------
def ttfc(url: str, body: dict, headers: dict[str, str], count: int) -> float:
    """Median ms from sending a streaming request to the first `data:` bytes, over one kept-alive connection
    (as SDK clients do), with serve's own lean client so the measuring side adds little."""
    from urllib.parse import urlsplit

    from services.serve.upstream import Upstreams

    parts = urlsplit(url)
    payload = json.dumps({**body, "stream": True}).encode()
    head = (f"POST {parts.path} HTTP/1.1\r\nhost: {parts.netloc}\r\ncontent-type: application/json\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + f"content-length: {len(payload)}\r\n\r\n").encode()

    async def once(pool) -> float:
        start = time.perf_counter()
        response = await pool.request(head, payload, 30.0)
        first = None
        async for chunk in response.iter_chunks():
            if first is None and b"data:" in chunk:
                first = time.perf_counter() - start
        response.close()
        if response.status != 200 or first is None:
            raise RuntimeError(f"{url}: streaming answered {response.status} without a data event")
        return first * 1000

    async def run() -> list[float]:
        upstreams = Upstreams()
        try:
            pool = upstreams.pool(url)
            await once(pool)  # connect outside the measurement
            return [await once(pool) for _ in range(count)]
        finally:
            upstreams.close()

    return statistics.median(asyncio.run(run()))


# the process tree ----------------------------------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


@contextmanager
def _platform(stack: ExitStack):
    from core import aws
    from core.config import parse_stage_config
    from services.local.emulated_aws import provision
    from tests.fixtures.stage import stage_dict

    endpoint = stack.enter_context(processes.moto_server(log=LOG_DIR / "moto.log"))
    os.environ.update(LISA_AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      LISA_REGION="us-east-1")
    aws.reset()
    config = stage_dict(litellmConfig={"general_settings": {"master_key": MASTER_KEY}, "model_list": []})
    yield provision(parse_stage_config(config))


def _register(platform, upstream: str) -> None:
    from core.models import ModelRecord
    from core.registry import ModelRegistry, Registration

    registry = ModelRegistry(platform.tables.models)
    registry.create(ModelRecord(model_id="bench-chat", model_name="openai/stand-in-chat", model_url=upstream))
    registry.set_registration("bench-chat", Registration(
        model_name="bench-chat", model_type="textgen", streaming=True, allowed_groups=[BENCH_GROUP],
        litellm_params={"model": "openai/stand-in-chat", "api_base": upstream}))


def _gateway(stack: ExitStack, platform, name: str, **settings: str) -> tuple[str, int]:
    base, proc = stack.enter_context(processes.serve_app(platform.model_dump_json(), log=LOG_DIR / f"{name}.log",
                                                         timeout=90, **settings))
    return base, proc.pid


def _bare_hop(stack: ExitStack, upstream: str) -> tuple[str, int]:
    port = processes.free_port()
    proc = stack.enter_context(processes.server(
        [sys.executable, str(REPO / "benchmarks" / "bare_hop.py"), "--port", str(port), "--upstream", upstream],
        f"http://127.0.0.1:{port}/health", log=LOG_DIR / "bare-hop.log"))
    return f"http://127.0.0.1:{port}", proc.pid


def _litellm_proxy(stack: ExitStack, upstream: str) -> tuple[str | None, int | None, str]:
    cache = Path(os.environ.get("LISA_CACHE", Path.home() / ".cache" / "lisa"))
    deps = os.environ.get("LISA_LITELLM_PROXY_DEPS") or str(cache / "litellm-proxy-deps")
    if not Path(deps).is_dir():
        return None, None, (f"{deps} is missing: pip install --no-deps --target {deps} "
                            "-r benchmarks/litellm-proxy-requirements.txt")
    config = LOG_DIR / "litellm-proxy.yaml"
    config.write_text(json.dumps({
        "model_list": [{"model_name": "bench-chat", "litellm_params": {"model": "openai/stand-in-chat",
                                                                        "api_base": upstream, "api_key": "unused"}}],
        "general_settings": {"master_key": MASTER_KEY}, "litellm_settings": {"telemetry": False},
    }))
    port = processes.free_port()
    # The extra modules go last on sys.path so the venv's own packages win.
    launcher = ("import sys; sys.path.append(sys.argv.pop(1)); "
                "from litellm.proxy.proxy_cli import run_server; run_server()")
    args = [sys.executable, "-c", launcher, deps, "--config", str(config), "--port", str(port), "--host", "127.0.0.1",
            "--num_workers", "1"]
    try:
        proc = stack.enter_context(processes.server(args, f"http://127.0.0.1:{port}/health/liveliness",
                                                    log=LOG_DIR / "litellm-proxy.log", timeout=120))
    except (RuntimeError, TimeoutError) as exc:
        return None, None, f"the proxy did not start ({exc}); see {LOG_DIR / 'litellm-proxy.log'}"
    return f"http://127.0.0.1:{port}", proc.pid, ""


def _sequential_check(url: str, body: dict, headers: dict[str, str]) -> None:
    import requests

    response = requests.post(url, json=body, headers=headers, timeout=30)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description="serve's overhead vs the upstream and LiteLLM's proxy")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--ttfc-count", type=int, default=100)
    parser.add_argument("--skip-proxy", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install -y wrk)")
    LOG_DIR.mkdir(parents=True, exist_ok=True)

    with ExitStack() as stack:
        platform = stack.enter_context(_platform(stack))
        upstream = stack.enter_context(processes.stand_in_upstream(log=LOG_DIR / "stand-in.log"))
        upstream_pid = next(p.pid for p in psutil.Process().children() if "tests.fixtures.upstream" in " ".join(p.cmdline()))
        _register(platform, upstream)
        from services.identity.tokens import TokenStore

        token, _ = TokenStore(platform.tables.tokens).issue(user_id="bench", username="bench", name="benchmark",
                                                              groups=[BENCH_GROUP])
        hop, hop_pid = _bare_hop(stack, upstream)
        gateway, gateway_pid = _gateway(stack, platform, "serve")
        via_litellm, via_litellm_pid = _gateway(stack, platform, "serve-litellm", passthrough="false")
        proxy, proxy_pid, proxy_missing = (None, None, "skipped (--skip-proxy)") if args.skip_proxy else _litellm_proxy(stack, upstream)

        targets = [("direct (stand-in upstream)", f"{upstream}/chat/completions", "stand-in-chat", {}, upstream_pid),
                   ("bare aiohttp hop", f"{hop}/v1/chat/completions", "stand-in-chat", {}, hop_pid),
                   ("serve (pass-through)", f"{gateway}/v2/serve/chat/completions", "bench-chat",
                    {"Authorization": f"Bearer {token}"}, gateway_pid),
                   ("serve (LiteLLM Router)", f"{via_litellm}/v2/serve/chat/completions", "bench-chat",
                    {"Authorization": f"Bearer {token}"}, via_litellm_pid)]
        if proxy:
            targets.append(("LiteLLM proxy", f"{proxy}/v1/chat/completions", "bench-chat",
                            {"Authorization": f"Bearer {MASTER_KEY}"}, proxy_pid))

        rows = []
        for name, url, model, headers, pid in targets:
            body = {**CHAT_BODY, "model": model}
            _sequential_check(url, body, headers)
            wrk(url, body, headers, connections=4, duration=2)  # warm-up
            low = wrk(url, body, headers, connections=1, duration=args.duration)
            first = ttfc(url, body, headers, args.ttfc_count)
            cpu_before = _cpu_seconds(pid)
            high = wrk(url, body, headers, connections=64, duration=args.duration, threads=2)
            cpu_ms = (_cpu_seconds(pid) - cpu_before) * 1000 / max(high["requests"], 1)
            rows.append((name, low, first, high, cpu_ms))
            print(f"  measured {name}", file=sys.stderr, flush=True)

    _print_table(rows, proxy_missing)


def _print_table(rows, proxy_missing: str) -> None:
    direct = rows[0]
    print()
    print(f"{'target':28} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'+p99 ms':>8} {'TTFC ms':>8} {'+TTFC':>7} "
          f"{'RPS c=64':>9} {'errors':>7} {'CPU ms/req':>10}")
    for name, low, first, high, cpu_ms in rows:
        added50 = low["p50"] - direct[1]["p50"]
        added99 = low["p99"] - direct[1]["p99"]
        print(f"{name:28} {low['p50']:8.3f} {low['p99']:8.3f} {added50:8.3f} {added99:8.3f} {first:8.2f} "
              f"{first - direct[2]:7.2f} {high['rps']:9.0f} {int(high['errors']):7d} {cpu_ms:10.3f}")
    if proxy_missing:
        print(f"LiteLLM proxy: not measured: {proxy_missing}")
    names = {r[0]: r for r in rows}
    serve = names.get("serve (pass-through)")
    hop = names.get("bare aiohttp hop")
    if serve and hop:
        print(f"serve vs the bare hop: added p50 {serve[1]['p50'] - direct[1]['p50']:.3f} ms vs "
              f"{hop[1]['p50'] - direct[1]['p50']:.3f} ms (goal: no higher); RPS x{serve[3]['rps'] / max(hop[3]['rps'], 1):.2f} "
              f"(goal: >= 1.3); CPU/request {serve[4]:.3f} vs {hop[4]:.3f} ms")
    proxy = names.get("LiteLLM proxy")
    if serve and proxy:
        print(f"serve vs LiteLLM proxy: added p50 {proxy[1]['p50'] - direct[1]['p50']:.2f} ms → "
              f"{serve[1]['p50'] - direct[1]['p50']:.2f} ms; RPS x{serve[3]['rps'] / max(proxy[3]['rps'], 1):.1f}; "
              f"CPU/request x{proxy[4] / max(serve[4], 1e-9):.1f} less")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) "
          "during the run: other work on the box shows up in every row")
    print("(+ columns: minus the direct figures; RPS: wrk -t2 -c64, errors = socket errors + non-2xx; "
          "CPU: the target's user+system time over the c=64 run)")


if __name__ == "__main__":
    main()
