"""The local stack's commands as a user meets them: `make preview` and the first lines of `make run` when something
is wrong (a port taken, an unknown stage). Each is the real entry point in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.fixtures import processes


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=processes.REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_preview_lists_the_dev_stage_by_component_and_says_what_it_is_not():
    result = run("services.local.preview", "--stage", "dev")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    network = lines.index(next(line for line in lines if line.startswith("network  (lisa:components:Network")))
    vpc = lines.index(next(line for line in lines if line.strip().startswith("network-vpc ")))
    assert network < vpc and lines[vpc].startswith("  ") and "aws:ec2/vpc:Vpc" in lines[vpc]
    assert "not a cloud diff" in result.stdout


def test_preview_of_an_invalid_stage_names_the_field_and_lists_nothing(tmp_path: Path):
    stage = tmp_path / "Pulumi.broken.yaml"
    stage.write_text((processes.REPO / "Pulumi.dev.yaml").read_text().replace(
        "lisa:deploymentName: lisa", "lisa:deploymentName: Not_Valid"))
    result = run("services.local.preview", "--stage", "broken", "--config-file", str(stage))
    assert result.returncode == 1 and "deploymentName" in result.stderr and result.stdout == ""


def test_run_with_a_port_in_use_says_which_and_starts_nothing(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        names = ("emulator", "pg", "opensearch", "embeddings", "api", "web")
        others = [arg for name in names for arg in (f"--{name}-port", "0")]
        result = run("services.local", "--state-dir", str(tmp_path / "state"), "--serve-port", str(port), *others)
    assert result.returncode == 1
    assert f"error: port {port} on 127.0.0.1 is already in use; it is needed for the serve gateway" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "state" / "children.json").exists()


def test_run_with_an_unknown_stage_lists_the_known_ones(tmp_path: Path):
    result = run("services.local", "--state-dir", str(tmp_path / "state"), "--stage", "nope")
    assert result.returncode == 1
    known = next(line for line in result.stderr.splitlines() if "Pulumi.nope.yaml not found" in line)
    assert "stages with a config file:" in known and "dev" in known.split(":")[-1]


def make_commands(target: str, **env: str) -> str:
    """What `make <target>` would run (make -n), with `env` set."""
    result = subprocess.run(["make", "-n", target], cwd=processes.REPO, capture_output=True, text=True, timeout=60,
                            env={**{k: v for k, v in os.environ.items() if k not in ("STATE", "LISA_STATE_DIR")},
                                 **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_and_clean_state_use_lisa_state_dir(tmp_path: Path):
    state = str(tmp_path / "elsewhere")
    assert f'--state-dir "{state}"' in make_commands("run", LISA_STATE_DIR=state)
    assert f'rm -rf "{state}"' in make_commands("clean-state", LISA_STATE_DIR=state)
    assert f'--state-dir "{processes.REPO}/.lisa"' in make_commands("run")
    assert f'--state-dir "{tmp_path}"' in make_commands("run", LISA_STATE_DIR=state, STATE=str(tmp_path))
