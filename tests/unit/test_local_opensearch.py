"""The embedded OpenSearch runner's checks before any JVM starts, and where it finds the node's build."""

import socket
import subprocess

import pytest

from services.local.opensearch import (EmbeddedOpenSearch, EmbeddedOpenSearchError, java_command, launcher_root,
                                       node_settings)
from services.local.ports import PortInUseError
from services.local.settings import REPO


def test_the_runner_finds_the_build_where_the_build_script_puts_it(monkeypatch):
    monkeypatch.delenv("LISA_OPENSEARCH_ROOT", raising=False)
    script = subprocess.run([str(REPO / "tools/opensearch/build.sh"), "--root"], capture_output=True, text=True,
                            check=True)
    assert script.stdout.strip() == str(launcher_root())
    assert launcher_root().name.startswith("2.19.1-")


def test_a_missing_build_is_one_line_saying_how_to_build_it(tmp_path):
    with pytest.raises(EmbeddedOpenSearchError, match=r"not built at .*; run `make setup`") as caught:
        EmbeddedOpenSearch(tmp_path / "os", root=tmp_path / "nothing").start()
    assert "\n" not in str(caught.value)


def test_missing_java_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmbeddedOpenSearchError, match="Java is not installed") as caught:
        EmbeddedOpenSearch(tmp_path / "os").start()
    assert "\n" not in str(caught.value)


def test_a_port_in_use_is_an_error_naming_the_port(tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / ".complete").touch()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} .* OpenSearch .*LISA_OPENSEARCH_PORT"):
            EmbeddedOpenSearch(tmp_path / "os", port, root=tmp_path / "build").start()


def test_the_node_is_a_single_loopback_node_with_its_files_in_the_state_dir(tmp_path):
    settings = node_settings(tmp_path, 9200)
    assert (settings["network.host"], settings["http.port"], settings["discovery.type"]) == (
        "127.0.0.1", "9200", "single-node")
    assert all(settings[f"path.{p}"].startswith(str(tmp_path)) for p in ("home", "data", "logs"))
    command = java_command("java", tmp_path, settings)
    assert "-Xms512m" in command and "-Xmx1g" in command and "http.port=9200" in command
