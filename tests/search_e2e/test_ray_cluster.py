"""The README's Ray cluster recipe, run as written on this machine with token authentication on: a head and a
second node (two raylets, one CPU each), each with its own home holding the cluster's token; a 2-worker search
through them gives the archive of a 1-worker search. A search without the token stops with one line naming the
authentication failure, and ``ray_address: null`` stays private while the cluster runs beside it.

Only the README's host and port are substituted (and the search's config, CPU and worker count); the options
the tests add to ``ray start`` keep the test's cluster its own: ``--block`` (the test ends what it started),
free ports for the services with fixed default ports, one CPU and a small object store per node. Ray's files go
to a short temporary folder (``RAY_TMPDIR``, so ``/tmp/ray`` and other users' clusters are never touched), homes
are temporary folders (the token is never written to the real ``~/.ray``), and every process the tests start
carries a marker in its environment by which teardown ends it (never ``ray stop``, which ends every cluster on
the machine).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_helpers import search_config, write_search
from parallel_helpers import archive_snapshot, processes_with_marker

from nsga_lightning.search.build import build_search

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent  # the `ray` command of the environment running the tests
# a variable set outside would point Ray elsewhere (another cluster, another token)
RAY_VARIABLES = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR")
STARTED = "Ray runtime started"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def readme_recipe() -> dict[str, str]:
    """The command lines of the README's Ray cluster block (continuations joined, comment lines dropped), by
    role: ``token``, ``head``, ``node``, ``search``; and the comment that says how the token reaches the nodes."""
    section = README.read_text().split("## Scale out", 1)[1].split("\n## ", 1)[0]
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL) if "ray start" in b]
    lines = [line.strip() for line in block.replace("\\\n", " ").splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    token, head, node, search = commands
    assert token.startswith("ray get-auth-token --generate") and "ray start --head" in head
    assert "ray start --address HEAD_IP:6379" in node and "nsga-lightning search" in search
    (copy,) = [line for line in lines if line.startswith("# copy")]
    return {"token": token, "head": head, "node": node, "search": search, "copy": copy}


@dataclass
class Cluster:
    """A running test cluster: its address, the head's home (token inside), the environment shared by its
    processes, and the processes started (``ray start --block``, each in its own session)."""

    address: str
    port: int
    head_home: Path
    env: dict[str, str]
    marker: str
    processes: list[subprocess.Popen]
    logs: Path

    def environment(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of a process of this cluster's machine with ``home`` as its home."""
        return {**self.env, "HOME": str(home), **extra}


def _shell(line: str, port: int) -> str:
    """A README line with the head's address and port of this test's cluster."""
    return line.replace("HEAD_IP", "127.0.0.1").replace("6379", str(port))


def _start(line: str, env: dict[str, str], log: Path, processes: list[subprocess.Popen]) -> None:
    """Run a README ``ray start`` line (with the test's options) blocking in its own session; wait until Ray
    says it started."""
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "-c", line], cwd=log.parent, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    processes.append(process)
    deadline = time.monotonic() + 180
    while STARTED not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{line!r} did not start ({process.poll()=}):\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def _stop(cluster_processes: list[subprocess.Popen], marker: str) -> None:
    """End what the tests started: each ``ray start --block`` stops its node on SIGTERM (sent to it alone: its
    node's processes killed under it keep it waiting); whatever still runs with the marker (a raylet's worker, a
    search's private Ray) is killed."""
    for process in reversed(cluster_processes):
        if process.poll() is None:
            process.terminate()
    for process in cluster_processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in processes_with_marker(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _test_options(port_of: dict[str, int], head: bool) -> str:
    """``ray start`` options of the test (see the module docstring): none changes the recipe."""
    options = ["--block", "--num-cpus 1", "--object-store-memory 100000000", "--disable-usage-stats",
               f"--dashboard-agent-listen-port {_free_port()}", f"--metrics-export-port {_free_port()}"]
    if head:
        options += ["--include-dashboard false", f"--dashboard-port {port_of['dashboard']}",
                    f"--ray-client-server-port {port_of['client']}"]
    return " " + " ".join(options)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tiny CIFAR-10 files and the archive of a one-at-a-time search (the reference of every search here)."""
    folder = tmp_path_factory.mktemp("ray-cluster")
    write_search(folder, "micro")
    with build_search(_config(folder, "sequential")) as runner:
        runner.run()
    yield folder


def _config(folder: Path, name: str, **search: Any) -> dict[str, Any]:
    """The tiny search config with absolute paths, as the README asks on a cluster (Ray's workers do not run in
    the driver's folder)."""
    config = search_config("micro", run_dir=str(folder / name))
    config["data"]["init_args"]["data_dir"] = str(folder / "data")
    config["search"].update(search)
    return config


@pytest.fixture(scope="module")
def cluster(workspace: Path, one_ray_at_a_time_in_this_module: None) -> Iterator[Cluster]:
    """The README's head node, token authentication on (its ``ray get-auth-token`` and ``ray start --head``); no
    other Ray of this test run while it runs (tests/conftest.py)."""
    pytest.importorskip("ray")
    if shutil.which("ray", path=str(BIN)) is None:
        pytest.skip(f"no ray command next to {sys.executable}")
    recipe = readme_recipe()
    # Ray's unix sockets live under RAY_TMPDIR and must stay under 108 characters: a short folder, not tmp_path
    short = Path(tempfile.mkdtemp(prefix="nsr", dir="/tmp"))
    marker = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k not in RAY_VARIABLES}
    env.update({"RAY_TMPDIR": str(short), "NSGA_TEST_MARKER": marker, "RAY_USAGE_STATS_ENABLED": "0",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    port = _free_port()
    head_home = short / "head-home"
    head_home.mkdir()
    processes: list[subprocess.Popen] = []
    cluster = Cluster(f"127.0.0.1:{port}", port, head_home, env, marker, processes, short / "logs")
    cluster.logs.mkdir()
    try:
        made = subprocess.run(["bash", "-c", _shell(recipe["token"], port)], env=cluster.environment(head_home),
                              capture_output=True, text=True, timeout=120, check=False)
        assert made.returncode == 0, made.stderr
        assert (head_home / ".ray" / "auth_token").is_file()
        ports = {"dashboard": _free_port(), "client": _free_port()}
        _start(_shell(recipe["head"], port) + _test_options(ports, head=True), cluster.environment(head_home),
               cluster.logs / "head.log", processes)
        yield cluster
    finally:
        _stop(processes, marker)
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture(scope="module")
def second_node(cluster: Cluster) -> Cluster:
    """The README's other node: the head's token copied to its own home, then its ``ray start --address``."""
    recipe = readme_recipe()
    assert "~/.ray/auth_token" in recipe["copy"]
    node_home = cluster.head_home.parent / "node-home"
    (node_home / ".ray").mkdir(parents=True)
    shutil.copy(cluster.head_home / ".ray" / "auth_token", node_home / ".ray" / "auth_token")
    _start(_shell(recipe["node"], cluster.port) + _test_options({}, head=False), cluster.environment(node_home),
           cluster.logs / "node.log", cluster.processes)
    return cluster


def _search(cluster: Cluster, args: list[str], home: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``nsga-lightning ARGS`` as its own process on this machine, ``home`` its home."""
    return subprocess.run([sys.executable, "-m", "nsga_lightning.cli", *args], cwd=cwd,
                          env=cluster.environment(home, **env), capture_output=True, text=True, timeout=600,
                          check=False)


def _readme_search(cluster: Cluster, config: Path) -> tuple[list[str], dict[str, str]]:
    """The README's search line for this cluster: its environment settings and arguments, with the test's
    config, CPU training and 2 workers."""
    words = shlex.split(readme_recipe()["search"])
    env = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    assert words[:2] == ["nsga-lightning", "search"]
    args = words[1:]
    substitutes = {"--config": str(config), "--trainer.accelerator": "cpu",
                   "--search.ray_address": cluster.address, "--search.workers": "2"}
    for option, value in substitutes.items():
        args[args.index(option) + 1] = value
    return args, env


def _write(workspace: Path, name: str, **search: Any) -> Path:
    path = workspace / f"{name}.yaml"
    path.write_text(yaml.safe_dump(_config(workspace, name, **search), sort_keys=False))
    return path


def test_the_readme_recipe_on_two_nodes_gives_the_archive_of_one_worker(second_node: Cluster, workspace: Path):
    args, env = _readme_search(second_node, _write(workspace, "two-nodes"))
    assert env == {"RAY_AUTH_MODE": "token"}
    searched = _search(second_node, args, second_node.head_home, workspace, **env)  # the driver on the head node
    assert searched.returncode == 0, searched.stderr[-3000:]
    assert archive_snapshot(workspace / "two-nodes") == archive_snapshot(workspace / "sequential")
    # the search ran on both nodes: one CPU each, the two candidates in flight needed both
    status = subprocess.run(["bash", "-c", f"RAY_AUTH_MODE=token ray status --address {second_node.address}"],
                            env=second_node.environment(second_node.head_home), capture_output=True, text=True,
                            timeout=120, check=False)
    assert status.returncode == 0, status.stderr
    assert re.search(r"^ *2 node_", status.stdout, flags=re.MULTILINE) or status.stdout.count(" node_") == 2, \
        status.stdout
    assert "/2.0 CPU" in status.stdout, status.stdout


@pytest.mark.parametrize(("name", "env", "reason"), [
    ("no-mode", {},
     "InvalidAuthToken: Authentication token is missing or incorrect; RAY_AUTH_MODE is unset here, not token"),
    ("no-token", {"RAY_AUTH_MODE": "token"},
     "Token authentication is enabled but no authentication token was found"),
])
def test_a_search_without_the_token_is_one_line_naming_the_authentication(cluster: Cluster, workspace: Path,
                                                                          tmp_path: Path, name, env, reason):
    home = tmp_path / "home"  # a machine without the cluster's token
    home.mkdir()
    config = _write(workspace, f"refused-{name}", backend="ray", workers=2, ray_address=cluster.address)
    # Ray retries a refused connection for 20 s; twice is enough here
    refused = _search(cluster, ["search", "--config", str(config)], home, workspace, RAY_NUM_REDIS_GET_RETRIES="2",
                      **env)
    assert refused.returncode == 2
    (line,) = [line for line in refused.stderr.splitlines() if line.startswith("nsga-lightning: error:")]
    assert line == (
        f"nsga-lightning: error: the Ray cluster at '{cluster.address}' refused this search's authentication "
        f"({reason}); run the search with RAY_AUTH_MODE=token and the cluster's token: the head node's "
        "~/.ray/auth_token copied to ~/.ray/auth_token here, or RAY_AUTH_TOKEN (the token) or RAY_AUTH_TOKEN_PATH "
        '(a file holding it) set (README, "Scale out")'
    )
    assert "Traceback" not in refused.stderr
    assert not (workspace / f"refused-{name}").exists()


def test_a_private_ray_beside_a_running_cluster_stays_private(cluster: Cluster, workspace: Path, tmp_path: Path):
    """``ray_address: null`` with the cluster named twice on this machine: by ``ray start`` (its address file in
    Ray's temporary folder, where ``ray.init()`` looks first) and by ``RAY_ADDRESS``."""
    assert (Path(cluster.env["RAY_TMPDIR"]) / "ray" / "ray_current_cluster").read_text().endswith(f":{cluster.port}")
    config = _write(workspace, "private", backend="ray", workers=2)
    home = tmp_path / "home"
    home.mkdir()
    searched = _search(cluster, ["search", "--config", str(config)], home, workspace, RAY_ADDRESS=cluster.address)
    assert searched.returncode == 0, searched.stderr[-3000:]
    assert archive_snapshot(workspace / "private") == archive_snapshot(workspace / "sequential")
