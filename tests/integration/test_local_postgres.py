import socket
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from services.local.ports import PortInUseError
from services.local.postgres import EmbeddedPostgres
from tests.fixtures.processes import free_port


@pytest.fixture
def state_dir(tmp_path):
    # Under pytest's 0700 temp root on purpose: the server must not need a way in through the state dir's parents.
    return tmp_path / "pg"


def test_pgvector_orders_by_cosine_distance(pg_dsn):
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE items (name text, embedding vector(3))")
        conn.execute("INSERT INTO items VALUES ('x', '[1,0,0]'), ('y', '[0,1,0]'), ('xy', '[1,1,0]')")
        rows = conn.execute("SELECT name FROM items ORDER BY embedding <=> '[1,0.1,0]' LIMIT 2").fetchall()
    assert [r[0] for r in rows] == ["x", "xy"]


def test_wrong_password_is_refused(pg_dsn):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(make_conninfo(pg_dsn, password="not-the-password"), connect_timeout=5)


def test_data_survives_a_restart(state_dir):
    with EmbeddedPostgres(state_dir) as pg:
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v vector(2))")
            conn.execute("INSERT INTO kept VALUES ('[1,2]')")
    with EmbeddedPostgres(state_dir) as pg, psycopg.connect(pg.dsn) as conn:
        assert conn.execute("SELECT v::text FROM kept").fetchone() == ("[1,2]",)


def test_port_in_use_is_an_error_naming_the_port(state_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} .* PostgreSQL"):
            EmbeddedPostgres(state_dir, port).start()


def test_stop_leaves_no_server_process(state_dir):
    pg = EmbeddedPostgres(state_dir, free_port()).start()
    pid = pg.process.pid
    pg.stop()
    assert not Path(f"/proc/{pid}").exists()


def test_a_left_over_server_is_stopped_by_the_next_start(state_dir):
    first = EmbeddedPostgres(state_dir, free_port()).start()
    left, first.process = first.process, None  # the supervisor dies without stopping it
    again = EmbeddedPostgres(state_dir)
    assert again.stop_orphan() == left.pid
    assert left.wait(5) is not None and again.running_postmaster() is None
