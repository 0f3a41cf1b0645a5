"""Local stack start-up: `python -m services.local` (what `make run` starts) from nothing, then again on its state.

Measures, in one fresh state folder on fixed free ports:
- cold start: empty state (initdb, provisioning the stage in the emulator, registering the embedding model);
- warm starts (`--repeat`): the same folder again (emulator restored from its snapshot, models already there);
- stop: Ctrl-C until the process exited.
"Ready" is the time from launching the process until it wrote run.json (every part answering, models registered,
the banner printed). Goal: warm ≤ 30 s. The ratio warm/cold is measured in the same run. All processes share this
machine's cores, so the absolute figures move with whatever else runs.

Run: `python benchmarks/local_start.py [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(state: Path, ports: dict[str, int], log: Path) -> tuple[subprocess.Popen, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISA_UPSTREAM")}
    env["PYTHONPATH"] = str(REPO)
    args = [sys.executable, "-m", "services.local", "--state-dir", str(state)]
    for name, port in ports.items():
        args += [f"--{name}-port", str(port)]
    (state / "run.json").unlink(missing_ok=True)
    started = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    while not (state / "run.json").exists():
        if proc.poll() is not None:
            raise SystemExit(f"the local stack exited with {proc.returncode}; see {log}")
        if time.monotonic() - started > 600:
            proc.kill()
            raise SystemExit(f"not ready after 600 s; see {log}")
        time.sleep(0.1)
    return proc, time.monotonic() - started


def stop(proc: subprocess.Popen) -> float:
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    proc.wait(120)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm starts to measure")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lisa-bench-start-"))
    state = root / "state"
    state.mkdir()
    log = root / "local-stack.log"
    ports = {name: free_port() for name in ("emulator", "pg", "opensearch", "embeddings", "generation", "serve", "api",
                                          "web")}
    try:
        proc, cold = start(state, ports, log)
        stops = [stop(proc)]
        warm = []
        for _ in range(args.repeat):
            proc, seconds = start(state, ports, log)
            warm.append(seconds)
            stops.append(stop(proc))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    median = statistics.median(warm)
    print(f"cold start          {cold:6.1f} s")
    print(f"warm start          {median:6.1f} s   (median of {len(warm)}: {', '.join(f'{w:.1f}' for w in warm)})")
    print(f"stop (Ctrl-C)       {statistics.median(stops):6.1f} s   (median of {len(stops)})")
    print(f"warm / cold         {median / cold:6.2f}")
    print(f"warm start goal ≤ 30 s: {'met' if median <= 30 else 'NOT met'}")
    print(f"load average during the run (1/5/15 min): {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
