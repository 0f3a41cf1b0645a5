"""Session-wide servers shared by the integration, engine and e2e tests.

Each is started once per test session on a free port and stopped at the end: the moto server (AWS emulator), the
stand-in OpenAI-compatible upstream, the embedded PostgreSQL and the OpenSearch node. Unit tests use none of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.fixtures import processes
from tests.fixtures.opensearch import FIXTURE as OPENSEARCH_FIXTURE
from tests.fixtures.opensearch import SESSION_NODE

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
os.environ.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")

OUTPUT = Path(os.environ.get("LISA_TEST_OUTPUT", processes.REPO / "test-output"))


_ORDER = ("unit", "integration", "engine", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast suites first (a broken unit fails the run in seconds), the browser tests last."""
    def rank(item: pytest.Item) -> int:
        parts = item.path.relative_to(processes.REPO / "tests").parts
        return _ORDER.index(parts[0]) if parts and parts[0] in _ORDER else len(_ORDER)

    items.sort(key=rank)  # stable: the order within a suite is kept


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(OPENSEARCH_FIXTURE in getattr(item, "fixturenames", ()) for item in session.items):
        OUTPUT.mkdir(parents=True, exist_ok=True)
        SESSION_NODE.launch(OUTPUT / "opensearch.log")  # starts while the tests before the first user run


def pytest_sessionfinish(session: pytest.Session) -> None:
    SESSION_NODE.stop()


@pytest.fixture(scope="session")
def test_output() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def moto_endpoint(test_output: Path):
    """The AWS emulator; every boto3 client in the process points at it through core.aws."""
    from core import aws

    with processes.moto_server(log=test_output / "moto.log") as endpoint:
        saved = {k: os.environ.get(k) for k in ("LISA_AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LISA_REGION")}
        os.environ.update(LISA_AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                          LISA_REGION="us-east-1")
        aws.reset()
        yield endpoint
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        aws.reset()


@pytest.fixture(scope="session")
def fault_proxy_session(moto_endpoint: str):
    from tests.fixtures.fault_proxy import fault_proxy

    with fault_proxy(moto_endpoint) as proxy:
        yield proxy


@pytest.fixture
def faulty_aws(fault_proxy_session, monkeypatch):
    """This process's AWS calls go through a proxy that refuses what the test names (tests/fixtures/fault_proxy.py);
    other processes (serve, the CLI, the provider host) keep talking to the emulator directly."""
    monkeypatch.setenv("LISA_AWS_ENDPOINT_URL", fault_proxy_session.url)
    yield fault_proxy_session
    fault_proxy_session.clear()


@pytest.fixture(scope="session")
def stand_in_upstream(test_output: Path):
    """Base URL (ending in /v1) of the stand-in OpenAI-compatible upstream server (tests/fixtures/upstream.py)."""
    with processes.stand_in_upstream(log=test_output / "stand-in-upstream.log") as base_url:
        yield base_url


@pytest.fixture
def stand_in_stats(stand_in_upstream: str):
    """Reads the stand-in upstream's counters (requests seen, streams the client abandoned)."""
    root = stand_in_upstream.removesuffix("/v1")
    return lambda: requests.get(f"{root}/_stand_in/stats", timeout=5).json()


@pytest.fixture(scope="session")
def trap():
    """A loopback listener that must receive nothing (tests/fixtures/trap.py); check `trap.hits` is empty."""
    from tests.fixtures.trap import trap_listener

    with trap_listener() as listener:
        yield listener


@pytest.fixture(scope="session")
def platform(moto_endpoint: str):
    """The test stage provisioned in the emulator (tables, buckets, secret, GPU cluster, model ALB, Cognito).

    Yields (PlatformOutputs, admin user). `LISA_PLATFORM` is set for apps started in this process or its children.
    """
    from core.config import parse_stage_config
    from services.local.emulated_aws import AdminUser, new_admin_password, provision
    from tests.fixtures.stage import stage_dict

    admin = AdminUser("admin", new_admin_password())
    outputs = provision(parse_stage_config(stage_dict()), admin=admin)
    os.environ["LISA_PLATFORM"] = outputs.model_dump_json()
    yield outputs, admin
    os.environ.pop("LISA_PLATFORM", None)


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory: pytest.TempPathFactory, test_output: Path):
    """DSN of an embedded PostgreSQL 18 + pgvector (services/local/postgres.py) in a temp state dir on a free port.

    The `vector` extension exists in its `postgres` database. Stopped at the end of the session.
    """
    from services.local.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), processes.free_port(), log_path=test_output / "postgres.log")
    try:
        server.start()
        yield server.dsn
    finally:
        server.stop()


@pytest.fixture(scope="session")
def opensearch_url(test_output: Path) -> str:
    """Base URL of a real OpenSearch 2.19.1 node with the k-NN plugin (services/local/opensearch.py): plain HTTP on
    127.0.0.1, a temp data dir, one for the session (tests/fixtures/opensearch.py)."""
    return SESSION_NODE.url(test_output / "opensearch.log")


# Fixtures of the RAG, embedding and session tests (embedding server, serve gateway with RAG models, RAG service),
# of the chat tests (the test MCP server, the stand-in's tool-calling models), and of the api fuzz (its own platform).
pytest_plugins = ["tests.fixtures.rag", "tests.fixtures.chat", "tests.fixtures.api_fuzz"]
