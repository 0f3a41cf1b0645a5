"""A single OpenSearch node with the k-NN plugin for the local stack and the tests, in a plain JVM.

    with EmbeddedOpenSearch(state_dir, port) as node:     # ready once the cluster health is yellow
        OpenSearch(hosts=[node.url])

The node (tools/opensearch: OpenSearch 2.19.1, k-NN 2.19.1.0 with the Lucene engine, painless, netty4; no security
plugin) is built by `tools/bootstrap.sh opensearch` into $LISA_CACHE/opensearch/<version>-<hash>/. It serves plain
HTTP on 127.0.0.1 only; in AWS the managed domain keeps TLS and fine-grained access.

The build also holds `classes.jsa`, a class-data-sharing archive written by one start of the node
(`python -m services.local.opensearch archive <build>`, run by the build): with it the JVM maps the ~20k classes a
node loads instead of loading them, and starts about 40% faster (34 s instead of 54 s at a load of 9.5 on 2 cores).

Layout under `state_dir`: `home/` (the node's path.home: its config dir stays empty), `data/`, `logs/`,
`opensearch.log` (the node's output), `opensearch.pid` (so a next start can stop a node a killed run left).
The JVM is a direct child in its own process group; SIGTERM makes it close its indices and exit.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from services.local.ports import PortInUseError, ensure_free, free_port
from services.local.settings import REPO
from services.local.supervisor import stop_server

VERSION_TAG = re.compile(r"<opensearch\.version>(.+?)</opensearch\.version>")
LAUNCHER = "lisa.opensearch.Launcher"
HEAP = ("512m", "1g")
ARCHIVE = "classes.jsa"
# C1 only: half the start-up CPU (24 s instead of 54 s at a load of 9.5), slower code afterwards. For the tests, whose
# few small requests never need the optimised code; not for the local stack or a benchmark.
QUICK_START = ("-XX:TieredStopAtLevel=1",)


class EmbeddedOpenSearchError(RuntimeError):
    pass


def launcher_root(repo: Path = REPO) -> Path:
    """Where tools/opensearch/build.sh puts the node: $LISA_OPENSEARCH_ROOT, else the cache folder named for the
    OpenSearch version and a hash of the launcher's sources and build script (the same rule as the script's)."""
    if os.environ.get("LISA_OPENSEARCH_ROOT"):
        return Path(os.environ["LISA_OPENSEARCH_ROOT"])
    project = repo / "tools" / "opensearch"
    pom = (project / "pom.xml").read_bytes()
    digest = hashlib.sha256(pom + (project / "build.sh").read_bytes())
    for path in sorted((project / "src").rglob("*"), key=lambda p: str(p.relative_to(project)).encode()):
        if path.is_file():
            digest.update(path.read_bytes())
    version = VERSION_TAG.search(pom.decode()).group(1)
    cache = Path(os.environ.get("LISA_CACHE", Path.home() / ".cache" / "lisa"))
    return cache / "opensearch" / f"{version}-{digest.hexdigest()[:12]}"


def node_settings(state_dir: Path, port: int, *, cluster: str = "lisa-local") -> dict[str, str]:
    return {
        "path.home": str(state_dir / "home"),
        "path.data": str(state_dir / "data"),
        "path.logs": str(state_dir / "logs"),
        "cluster.name": cluster,
        "node.name": "lisa",
        "discovery.type": "single-node",
        "network.host": "127.0.0.1",
        "http.port": str(port),
        "transport.port": "0",  # nothing joins a single node; any free port
        "http.type": "netty4",
        "transport.type": "netty4",
        # The disk watermarks would turn a nearly full developer disk into read-only indices.
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }


def java_command(java: str, root: Path, settings: dict[str, str], heap: tuple[str, str] = HEAP,
                 options: tuple[str, ...] = ()) -> list[str]:
    archive = root / ARCHIVE
    shared = [f"-XX:SharedArchiveFile={archive}"] if archive.exists() else []
    return [java, f"-Xms{heap[0]}", f"-Xmx{heap[1]}", "-XX:+UseG1GC", *shared, *options, "-Djava.awt.headless=true",
            "-Dfile.encoding=UTF-8", "-Dlog4j2.formatMsgNoLookups=true",
            "-cp", f"{root / 'lib'}/*{os.pathsep}{root / 'launcher.jar'}", LAUNCHER,
            *(f"{k}={v}" for k, v in settings.items())]


class EmbeddedOpenSearch:
    def __init__(self, state_dir: Path, port: int | None = None, *, log_path: Path | None = None,
                 start_timeout: float = 120.0, heap: tuple[str, str] = HEAP, root: Path | None = None,
                 java_options: tuple[str, ...] = ()) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.log_path = log_path or self.state_dir / "opensearch.log"
        self.pid_file = self.state_dir / "opensearch.pid"
        self.start_timeout = start_timeout
        self.heap = heap
        self.root = root
        self.java_options = java_options
        self.stop_timeout = 20.0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedOpenSearchError("the node has not been started")
        return f"http://127.0.0.1:{self.port}"

    # ---- lifecycle
    def start(self) -> EmbeddedOpenSearch:
        if self.process is not None and self.process.poll() is None:
            return self
        java, root = self.installed()
        self.port = self.port or free_port()
        ensure_free(self.port, "the embedded OpenSearch", "choose another with LISA_OPENSEARCH_PORT")
        for sub in ("home/config", "data", "logs"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        command = java_command(java, root, node_settings(self.state_dir, self.port), self.heap, self.java_options)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.state_dir, start_new_session=True)
        self.pid_file.write_text(f"{self.process.pid}\n")
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float | None = None) -> None:
        timeout = self.stop_timeout if timeout is None else timeout
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)  # the launcher's shutdown hook closes the node
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedOpenSearch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def running_orphan(self) -> int | None:
        """The pid of a node a killed run left on this state dir, if it still runs."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        # The pid may belong to another program by now.
        ours = LAUNCHER.encode() in cmdline and f"path.data={self.state_dir / 'data'}".encode() in cmdline
        return pid if ours else None

    def stop_orphan(self, timeout: float = 20.0) -> int | None:
        """Stop a node left running on this state dir by an earlier run; its pid, if there was one."""
        pid = self.running_orphan()
        if pid is not None:
            stop_server(pid, signal.SIGTERM, lambda: self.running_orphan() == pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return pid

    # ---- internals
    def installed(self) -> tuple[str, Path]:
        """Java and the node's build; EmbeddedOpenSearchError (one line saying what to run) when one is missing."""
        java = shutil.which("java")
        if java is None:
            raise EmbeddedOpenSearchError("Java is not installed; the embedded OpenSearch needs Java 17 "
                                          "(`make setup` installs it)")
        root = self.root or launcher_root()
        if not (root / ".complete").exists():
            raise EmbeddedOpenSearchError(f"the OpenSearch node is not built at {root}; run `make setup` "
                                          "(or tools/bootstrap.sh opensearch)")
        return java, root

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        health = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._exit_error()
            try:
                if requests.get(health, timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise EmbeddedOpenSearchError(f"OpenSearch not ready on {self.url} after {self.start_timeout:.0f}s "
                                      f"(log: {self.log_path})")

    def _exit_error(self) -> Exception:
        tail = self.log_path.read_text(errors="replace").splitlines()[-8:] if self.log_path.exists() else []
        if any("BindException" in line or "Address already in use" in line for line in tail):
            return PortInUseError(self.port, "the embedded OpenSearch", "choose another with LISA_OPENSEARCH_PORT")
        return EmbeddedOpenSearchError(
            f"OpenSearch exited with {self.process.returncode} during start; last log lines:\n" + "\n".join(tail))


def archive_classes(root: Path) -> Path:
    """Start a node once from the build at `root` with a k-NN index and query (so their classes load too), and keep
    the classes it loaded as `root/classes.jsa`."""
    import tempfile

    target = root / ARCHIVE
    partial = root / f"{ARCHIVE}.{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="lisa-opensearch-archive-") as state_dir:
        node = EmbeddedOpenSearch(Path(state_dir), root=root, java_options=(f"-XX:ArchiveClassesAtExit={partial}",))
        with node:
            index = f"{node.url}/archive"
            requests.put(index, timeout=60, json={"settings": {"index": {"knn": True}}, "mappings": {"properties": {
                "v": {"type": "knn_vector", "dimension": 2, "method": {
                    "name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"}}}}}).raise_for_status()
            requests.put(f"{index}/_doc/1?refresh=true", json={"v": [1, 0]}, timeout=60).raise_for_status()
            requests.post(f"{index}/_search", timeout=60, json={"query": {"knn": {"v": {
                "vector": [1, 0], "k": 1}}}}).raise_for_status()
            node.stop_timeout = 120.0  # the JVM writes the archive as it exits
    if not partial.exists():
        raise EmbeddedOpenSearchError(f"the JVM wrote no class-data archive (see {node.log_path})")
    partial.rename(target)
    return target


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["archive"] or len(sys.argv) != 3:
        sys.exit("usage: python -m services.local.opensearch archive <build folder>")
    print(archive_classes(Path(sys.argv[2])))
