"""Soak: serve (and the api's session and search routes alongside) under a steady load for a long time.

One process tree, as benchmarks/gateway.py builds it: the AWS emulator, the stand-in upstream, embedded Postgres, the
local embedding server, serve (pass-through, everything on: auth, the allow-list, rate limits, usage metering) and the
api (sessions in the emulator, a pgvector repository searched through serve's embedding route).
Serve's rate is by default 50 % of the requests/s that bench-gateway's c=64 wrk run measures for serve's
non-streaming chat, measured briefly here first (--rps to set it). Its mix: non-streaming chat paced by wrk (a
per-connection delay re-aimed every window at the rate: a Python client could not send thousands a second without
taking the cores it measures), and open-loop from an asyncio client (a start every 1/rate s whatever the answers do; at
most --max-in-flight at once, past which a start is counted as shed) streaming chat read to `[DONE]` and, now and
then, a client that drops a slow stream after its first chunk; at their own rates, PUT+GET of a session and a
similarity search on the api.
Reported: errors by kind (goal 0), p50/p99 per window per kind, and each process's RSS and open file descriptors
(with its children) at start, after a warm-up, and at the end, both taken with no request in flight (goal: RSS growth
≤ 10 %, no fd growth). The load generator shares the machine's cores with everything it measures.

Run: `make bench-soak` (30 min) or `python benchmarks/soak.py --duration 120` (LISA_SOAK_DURATION, LISA_SOAK_RPS).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import aiohttp  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402

import gateway as bench_gateway  # noqa: E402
from tests.fixtures import processes  # noqa: E402

LOG_DIR = Path(os.environ.get("LISA_BENCH_LOGS", tempfile.gettempdir())) / "lisa-bench-soak"
CHAT_MODEL, DRIP_MODEL, EMBED_MODEL = "soak-chat", "soak-drip", "soak-minilm"
REPOSITORY = "soak"
REST_S = 7.0  # seconds at rest before reading fds: past uvicorn's 5 s keep-alive
SESSIONS = 50  # session ids the load rewrites, so the table stays small and each write replaces a body
DOCUMENT = "\n\n".join(f"Paragraph {i}: the platform routes every model through one OpenAI-compatible gateway; "
                       f"sessions keep the history of chats; repositories hold documents for retrieval." for i in range(40))


# pure: figures --------------------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def growth(start: float, end: float) -> float:
    return (end - start) / start * 100 if start else 0.0


@dataclass
class Window:
    """What one window of the measured run saw: latencies (ms) by kind, errors by kind and reason; the paced chat's
    figures come from wrk (p50, p99, requests)."""

    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    shed: int = 0
    chat: dict[str, float] = field(default_factory=dict)

    def served(self) -> int:
        return int(self.chat.get("requests", 0)) + sum(len(self.latencies[k]) for k in ("stream", "drop"))

    def p(self, kind: str, q: int) -> float:
        return self.chat.get(f"p{q}", float("nan")) if kind == "chat" else percentile(self.latencies[kind], q)

    def line(self, index: int, kinds: list[str]) -> str:
        cells = " ".join(f"{self.p(k, 50):7.1f} {self.p(k, 99):7.1f}" for k in kinds)
        return f"{index:3d} {self.served() / self.seconds:7.1f} {sum(self.errors.values()):6d} {self.shed:5d}  {cells}"


@dataclass(frozen=True)
class Resources:
    rss_mib: float
    fds: int
    processes: int
    peers: Counter  # open TCP connections by the port they go to (a listening process's name where known)
    files: int  # regular files open (Postgres' backends keep relation files open, up to max_files_per_process)


def resources(pid: int, names: dict[int, str]) -> Resources:
    """RSS and open fds of a process and its children (Postgres' backends, a server's workers), and where its TCP
    connections go (`names`: listening port → process), so a growth in fds says whose pool it is."""
    rss, fds, count, peers, files = 0, 0, 0, Counter(), 0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            rss += proc.memory_info().rss
            fds += proc.num_fds()
            count += 1
            files += len(proc.open_files())
            for conn in proc.net_connections("tcp"):
                if conn.raddr:
                    peers[names.get(conn.raddr.port, "clients")] += 1
        except psutil.NoSuchProcess:
            pass
    return Resources(rss / 2**20, fds, count, peers, files)


def listening(pids: dict[str, int]) -> dict[int, str]:
    ports = {}
    for name, pid in pids.items():
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            for conn in proc.net_connections("tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    ports[conn.laddr.port] = name
    return ports


# the load -------------------------------------------------------------------------------------------------------------
@dataclass
class Load:
    serve: str
    api: str
    token: str
    rps: float
    stream_share: float
    disconnect_share: float
    session_rps: float
    search_rps: float
    max_in_flight: int
    connections: int = 32
    windows: list[Window] = field(default_factory=list)
    current: Window | None = None  # None: warming up
    in_flight: int = 0
    paused: bool = False
    delay_ms: float = 0.0
    http: aiohttp.ClientSession | None = None
    samples: dict[str, str] = field(default_factory=dict)  # one message per error kind

    def _record(self, kind: str, started: float, error: str | None = None) -> None:
        window = self.current
        if window is None:
            if error:
                self.samples.setdefault(f"warm-up {kind}", error)
            return
        if error:
            window.errors[f"{kind}: {error.split(':')[0]}"] += 1
            self.samples.setdefault(f"{kind}: {error.split(':')[0]}", error)
        else:
            window.latencies[kind].append((time.perf_counter() - started) * 1000)

    async def _paced_chat(self, seconds: float) -> dict[str, float]:
        """Non-streaming chat at the chat share of the rate for `seconds`, paced by wrk (a per-connection delay,
        re-aimed after every run at what the last one achieved)."""
        target = self.rps * (1 - self.stream_share - self.disconnect_share)
        cycle = self.connections / target * 1000
        if not self.delay_ms:
            self.delay_ms = max(0.0, cycle - 2)
        body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "a steady soak request"}]}
        figures = await asyncio.to_thread(
            bench_gateway.wrk, f"{self.serve}/v2/serve/chat/completions", body,
            {"Authorization": f"Bearer {self.token}"}, connections=self.connections, duration=seconds,
            delay_ms=round(self.delay_ms))
        answering = self.connections / max(figures["rps"], 1e-3) * 1000 - round(self.delay_ms)
        self.delay_ms = max(0.0, cycle - answering)
        return figures

    async def _stream(self, http: aiohttp.ClientSession, n: int) -> None:
        body = {"model": CHAT_MODEL, "stream": True, "messages": [{"role": "user", "content": f"stream {n}"}]}
        started = time.perf_counter()
        async with http.post(f"{self.serve}/v2/serve/chat/completions", json=body) as response:
            answer = await response.read()
            if response.status != 200 or not answer.rstrip().endswith(b"data: [DONE]"):
                return self._record("stream", started, f"status {response.status}: {answer[-200:]!r}")
        self._record("stream", started)

    async def _disconnect(self, http: aiohttp.ClientSession, n: int) -> None:
        """A client that goes away mid-stream: a slow stream dropped after its first chunk."""
        body = {"model": DRIP_MODEL, "stream": True, "messages": [{"role": "user", "content": f"leaving {n}"}]}
        started = time.perf_counter()
        response = await http.post(f"{self.serve}/v2/serve/chat/completions", json=body)
        try:
            first = await response.content.readuntil(b"\n\n")
            if response.status != 200 or not first.startswith(b"data: "):
                return self._record("drop", started, f"status {response.status}: {first[:200]!r}")
            self._record("drop", started)  # time to the first chunk
        finally:
            response.close()  # the connection is dropped, not returned to the pool

    async def _session(self, http: aiohttp.ClientSession, n: int) -> None:
        url = f"{self.api}/session/soak-{n % SESSIONS}"
        messages = [{"role": "user", "content": f"question {n}"}, {"role": "assistant", "content": "answer " * 50}]
        started = time.perf_counter()
        async with http.put(url, json={"messages": messages, "name": f"soak {n}", "model": CHAT_MODEL}) as response:
            text = await response.read()
            if response.status != 200:
                return self._record("session", started, f"PUT status {response.status}: {text[:200]!r}")
        async with http.get(url) as response:
            text = await response.read()
            if response.status != 200 or f"question {n}".encode() not in text:
                return self._record("session", started, f"GET status {response.status}: {text[:200]!r}")
        self._record("session", started)

    async def _search(self, http: aiohttp.ClientSession, n: int) -> None:
        params = {"query": f"how does the gateway route model {n % 97}", "topK": "5", "modelName": EMBED_MODEL}
        started = time.perf_counter()
        async with http.get(f"{self.api}/repository/{REPOSITORY}/similaritySearch", params=params) as response:
            text = await response.read()
            if response.status != 200 or b'"docs"' not in text:
                return self._record("search", started, f"status {response.status}: {text[:200]!r}")
        self._record("search", started)

    async def _guarded(self, kind: str, call, n: int) -> None:
        self.in_flight += 1
        started = time.perf_counter()
        try:
            await call(self.http, n)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            self._record(kind, started, f"{type(exc).__name__}: {exc}")
        finally:
            self.in_flight -= 1

    async def _paced(self, rate: float, pick, stop: asyncio.Event, tasks: set) -> None:
        """Starts pick(n) every 1/rate s, open-loop; a start past max-in-flight is shed (counted, not sent)."""
        if rate <= 0:
            return
        interval, due, n = 1.0 / rate, time.monotonic(), 0
        while not stop.is_set():
            due += interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.paused:
                due = time.monotonic()
                continue
            n += 1
            if self.in_flight >= self.max_in_flight:
                if self.current:
                    self.current.shed += 1
                continue
            kind, call = pick(n)
            task = asyncio.create_task(self._guarded(kind, call, n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def _stream_pick(self):
        rng, share = random.Random(20240611), self.disconnect_share / (self.stream_share + self.disconnect_share)

        def pick(n: int):
            return ("drop", self._disconnect) if rng.random() < share else ("stream", self._stream)
        return pick

    def _client(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(headers={"authorization": f"Bearer {self.token}"},
                                     timeout=aiohttp.ClientTimeout(total=60),
                                     connector=aiohttp.TCPConnector(limit=self.max_in_flight))

    async def idle(self) -> None:
        """Stops starting requests, waits until none is in flight, closes the client's kept-alive connections and
        waits past uvicorn's 5 s keep-alive (serve's upstream pool drops a connection sooner), so fds are read at
        rest, not by how many connections the last seconds' peak left open. Requests resume on a new client."""
        self.paused = True
        deadline = time.monotonic() + 60
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.http.close()
        await asyncio.sleep(REST_S)
        self.http = self._client()

    async def run(self, warmup: float, duration: float, window_s: float, snapshot) -> dict:
        stop, tasks = asyncio.Event(), set()
        kinds = ["chat", "stream", "drop", "session", "search"]
        self.http = self._client()
        try:
            streams = self.rps * (self.stream_share + self.disconnect_share)
            pacers = [asyncio.create_task(self._paced(streams, self._stream_pick(), stop, tasks)),
                      asyncio.create_task(self._paced(self.session_rps, lambda n: ("session", self._session),
                                                      stop, tasks)),
                      asyncio.create_task(self._paced(self.search_rps, lambda n: ("search", self._search),
                                                      stop, tasks))]
            warm = await self._paced_chat(warmup)
            print(f"warm-up: paced chat at {warm['rps']:.0f}/s (next delay {self.delay_ms:.0f} ms on "
                  f"{self.connections} connections)", file=sys.stderr, flush=True)
            await self.idle()
            before = snapshot()
            self.paused = False
            print(f"measuring {duration:.0f} s in windows of {window_s:.0f} s", file=sys.stderr, flush=True)
            print("win   req/s errors  shed  " + " ".join(f"{k + ' p50':>11} {'p99':>7}" for k in kinds), flush=True)
            elapsed = 0.0
            while elapsed < duration - 0.5:
                seconds = min(window_s, duration - elapsed)
                self.current = Window(seconds)
                self.windows.append(self.current)
                started = time.monotonic()
                self.current.chat = await self._paced_chat(seconds)
                if self.current.chat["errors"]:
                    self.current.errors["chat: non-2xx or socket error (wrk)"] += int(self.current.chat["errors"])
                self.current.seconds = time.monotonic() - started
                elapsed += seconds
                print(self.current.line(len(self.windows) - 1, kinds), flush=True)
            await self.idle()
            self.current = None
            stop.set()
            await asyncio.gather(*pacers)
            after = snapshot()
        finally:
            await self.http.close()
        return {"before": before, "after": after}


# the process tree -----------------------------------------------------------------------------------------------------
def start_stack(stack: ExitStack) -> tuple[str, str, str, dict[str, int]]:
    """Emulator, stand-in, Postgres, embedding server, serve, api; their base URLs, a user's token and the pids."""
    from core.config import parse_stage_config
    from core.models import ModelType
    from services.identity.tokens import TokenStore
    from services.local.emulated_aws import provision
    from services.local.postgres import EmbeddedPostgres
    from tests.fixtures.rag import register_model
    from tests.fixtures.stage import stage_dict

    pids: dict[str, int] = {}
    endpoint = stack.enter_context(processes.moto_server(log=LOG_DIR / "moto.log"))
    pids["emulator"] = _child_pid("moto.server")
    os.environ.update(LISA_AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      LISA_REGION="us-east-1")
    from core import aws

    aws.reset()
    config = stage_dict(litellmConfig={"general_settings": {"master_key": bench_gateway.MASTER_KEY}, "model_list": []},
                        ragRepositories=[{"repositoryId": REPOSITORY, "type": "pgvector",
                                          "defaultEmbeddingModel": EMBED_MODEL}])
    platform = provision(parse_stage_config(config))

    upstream = stack.enter_context(processes.stand_in_upstream(log=LOG_DIR / "stand-in.log"))
    pids["stand-in upstream"] = _child_pid("tests.fixtures.upstream")
    state = Path(tempfile.mkdtemp(prefix="lisa-bench-soak-"))
    stack.callback(shutil.rmtree, state, True)
    state.chmod(0o755)
    pg = EmbeddedPostgres(state / "pg", processes.free_port(), log_path=LOG_DIR / "postgres.log")
    pg.start()
    stack.callback(pg.stop)
    pids["postgres"] = pg.running_postmaster()
    port = processes.free_port()
    embeddings = f"http://127.0.0.1:{port}"
    proc = stack.enter_context(processes.server([sys.executable, "-m", "services.embeddings", "--port", str(port)],
                                                f"{embeddings}/health", log=LOG_DIR / "embeddings.log", timeout=90))
    pids["embeddings"] = proc.pid

    register_model(platform, CHAT_MODEL, "stand-in-chat", upstream, ModelType.TEXTGEN)
    register_model(platform, DRIP_MODEL, "drip-50", upstream, ModelType.TEXTGEN)
    register_model(platform, EMBED_MODEL, "all-minilm-l6-v2", f"{embeddings}/v1", ModelType.EMBEDDING)
    serve, proc = stack.enter_context(processes.serve_app(platform.model_dump_json(), log=LOG_DIR / "serve.log",
                                                          timeout=90))
    pids["serve"] = proc.pid
    env = {"LISA_PLATFORM": platform.model_dump_json(), "LISA_RAG_SERVE_URL": serve, "LISA_RAG_PG_DSN": pg.dsn,
           **processes.engine_env(state / "engine", LISA_ENGINE_RESUME_ON_START="false")}
    api, proc = stack.enter_context(processes.api_app(env, log=LOG_DIR / "api.log", timeout=90))
    pids["api"] = proc.pid
    token, _ = TokenStore(platform.tables.tokens).issue(user_id="soak", username="soak", name="soak benchmark")
    from tests.fixtures.serve import wait_routable

    wait_routable(serve, [CHAT_MODEL, DRIP_MODEL, EMBED_MODEL], bench_gateway.MASTER_KEY)
    return serve, api, token, pids


def _child_pid(marker: str) -> int:
    return next(p.pid for p in psutil.Process().children() if marker in " ".join(p.cmdline()))


def ingest(api: str, token: str) -> None:
    """One document in the repository, so searches find chunks."""
    session = requests.Session()
    session.headers["authorization"] = f"Bearer {token}"
    response = session.post(f"{api}/repository/{REPOSITORY}/document", timeout=120,
                            files={"file": ("soak.txt", DOCUMENT.encode())},
                            data={"embeddingModel": EMBED_MODEL, "chunkSize": "512", "chunkOverlap": "0"})
    response.raise_for_status()
    job = response.json()["jobs"][0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = session.get(f"{api}/repository/{REPOSITORY}/{job['documentId']}", timeout=30).json()["status"]
        if status == "INGESTION_COMPLETED":
            return
        if status == "INGESTION_FAILED":
            raise SystemExit("the soak document's ingest failed; see the api log")
        time.sleep(0.5)
    raise SystemExit("the soak document was not ingested in 120 s")


def measure_rps(serve: str, token: str, seconds: float) -> float:
    """serve's non-streaming chat requests/s at c=64, as bench-gateway measures it (wrk -t2 -c64)."""
    url, body = f"{serve}/v2/serve/chat/completions", {**bench_gateway.CHAT_BODY, "model": CHAT_MODEL}
    headers = {"Authorization": f"Bearer {token}"}
    bench_gateway.wrk(url, body, headers, connections=4, duration=2)
    return bench_gateway.wrk(url, body, headers, connections=64, duration=seconds, threads=2)["rps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=float(os.environ.get("LISA_SOAK_DURATION", 1800)),
                        help="measured seconds (after the warm-up); default 1800")
    parser.add_argument("--rps", type=float, default=float(os.environ.get("LISA_SOAK_RPS", 0)),
                        help="serve's steady requests/s; default: half of what a brief c=64 wrk run measures")
    parser.add_argument("--share", type=float, default=0.5, help="the share of the measured RPS to hold")
    parser.add_argument("--window", type=float, default=0, help="seconds per window (default: duration / 15, ≥ 10)")
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--stream-share", type=float, default=0.2, help="of serve's rate: streams read to the end")
    parser.add_argument("--disconnect-share", type=float, default=0.01,
                        help="of serve's rate: streams dropped after their first chunk")
    parser.add_argument("--session-rps", type=float, default=5.0, help="PUT+GET of a session per second")
    parser.add_argument("--search-rps", type=float, default=2.0, help="similarity searches per second")
    parser.add_argument("--max-in-flight", type=int, default=128, help="streams, sessions and searches at once")
    parser.add_argument("--connections", type=int, default=32, help="wrk's connections for the paced chat")
    args = parser.parse_args()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    window = args.window or max(10.0, args.duration / 15)

    with ExitStack() as stack:
        serve, api, token, pids = start_stack(stack)
        ingest(api, token)
        measured = None
        if not args.rps:
            measured = measure_rps(serve, token, 5.0)
        rps = args.rps or measured * args.share
        print(f"serve at {rps:.0f} req/s" + (f" ({args.share:.0%} of {measured:.0f} measured at c=64)" if measured
                                             else "") + f", sessions {args.session_rps}/s, searches "
              f"{args.search_rps}/s; warm-up {args.warmup:.0f} s; logs in {LOG_DIR}", flush=True)
        ports = listening(pids)
        load = Load(serve, api, token, rps, args.stream_share, args.disconnect_share, args.session_rps,
                    args.search_rps, args.max_in_flight, connections=args.connections)
        marks = asyncio.run(load.run(args.warmup, args.duration, window,
                                     lambda: {name: resources(pid, ports) for name, pid in pids.items()}))
    _report(load, marks, args.duration)


def _report(load: Load, marks: dict, duration: float) -> None:
    errors = sum((w.errors for w in load.windows), Counter())
    shed = sum(w.shed for w in load.windows)
    served = sum(w.served() for w in load.windows)
    api = sum(len(w.latencies[k]) for w in load.windows for k in ("session", "search"))
    print(f"\nserve answered {served} requests in {duration:.0f} s ({served / duration:.1f}/s, aimed at "
          f"{load.rps:.0f}/s), the api {api} session round trips and searches; errors {sum(errors.values())} "
          f"(goal 0), shed {shed} (starts past max-in-flight)")
    for kind, count in errors.most_common():
        print(f"  {count:6d}  {kind}   e.g. {load.samples.get(kind, '')[:200]}")
    warm = {k: v for k, v in load.samples.items() if k.startswith("warm-up")}
    for kind, sample in warm.items():
        print(f"  (during the warm-up) {kind}: {sample[:200]}")
    print(f"\n{'process':20} {'RSS MiB start':>13} {'end':>8} {'growth':>7} {'fds start':>9} {'end':>5}  procs")
    verdict = True
    for name, before in marks["before"].items():
        after = marks["after"][name]
        rss_growth = growth(before.rss_mib, after.rss_mib)
        ok = rss_growth <= 10 and after.fds <= before.fds
        verdict &= ok
        print(f"{name:20} {before.rss_mib:13.1f} {after.rss_mib:8.1f} {rss_growth:6.1f}% {before.fds:9d} "
              f"{after.fds:5d}  {before.processes}→{after.processes} {'' if ok else '  <- past the goal'}")
        moved = {peer: after.peers[peer] - before.peers[peer] for peer in before.peers | after.peers
                 if after.peers[peer] != before.peers[peer]}
        details = [f"connections to {peer} {before.peers[peer]}→{after.peers[peer]}" for peer in sorted(moved)]
        if before.files != after.files:
            details.append(f"regular files {before.files}→{after.files}")
        if details:
            print(f"{'':20} at rest, start→end: " + ", ".join(details))
    load_avg = os.getloadavg()
    print(f"\ngoals (0 errors, RSS growth ≤ 10 %, no fd growth): {'met' if verdict and not errors else 'NOT met'}")
    print(f"machine: {os.cpu_count()} cores, load average {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f} "
          "(1/5/15 min) at the end; start and end are read with no request in flight")


if __name__ == "__main__":
    main()
