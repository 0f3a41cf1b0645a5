"""The embedded OpenSearch node's lifecycle: what it stores survives a restart, a node a killed run left behind is
found and stopped, and stopping leaves no process (one extra node, started twice)."""

from pathlib import Path

import requests

from services.local.opensearch import QUICK_START, EmbeddedOpenSearch


def test_a_left_over_node_is_stopped_and_its_data_kept_for_the_next_start(tmp_path):
    first = EmbeddedOpenSearch(tmp_path / "os", java_options=QUICK_START).start()
    requests.put(f"{first.url}/kept/_doc/1?refresh=true", json={"v": 1}, timeout=30).raise_for_status()
    left, first.process = first.process, None  # the supervisor dies without stopping it

    again = EmbeddedOpenSearch(tmp_path / "os", java_options=QUICK_START)
    assert again.running_orphan() == left.pid and again.stop_orphan() == left.pid
    assert left.wait(5) is not None and again.running_orphan() is None  # exited (reaped here: it is our child)

    with again:
        assert requests.get(f"{again.url}/kept/_doc/1", timeout=30).json()["_source"] == {"v": 1}
        pid = again.process.pid
    assert not Path(f"/proc/{pid}").exists()
