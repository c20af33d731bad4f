"""``python -m facenet_vae.explore``: binds 127.0.0.1 unless --host says otherwise (then warns loudly), prints the
URL, stops cleanly on Ctrl-C, and fails with one line for a bad command line or a missing model."""
import json
import os
import pathlib
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from facenet_vae.cli import explore as explore_cli
from facenet_vae.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE

WORKTREE = pathlib.Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180


class ServerProcess:
    """``python -m facenet_vae.explore`` in a subprocess, its output read line by line."""

    def __init__(self, *args):
        env = dict(os.environ, PYTHONPATH=str(WORKTREE), TF_CPP_MIN_LOG_LEVEL="3")
        self.process = subprocess.Popen([sys.executable, "-m", "facenet_vae.explore", "--port=0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                        cwd=WORKTREE)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.process.stdout, None), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.stderr), daemon=True).start()

    def _read(self, stream, keep):
        for line in stream:
            (keep.append if keep is not None else self.lines.put)(line)
        if keep is None:
            self.lines.put(None)

    def wait_for_url(self):
        """Return the URL the server prints once it is ready."""
        seen = []
        while True:
            line = self.lines.get(timeout=START_TIMEOUT_S)
            assert line is not None, f"the server ended: {''.join(seen)}{''.join(self.stderr)}"
            seen.append(line)
            found = re.search(r"open (http://\S+) in a browser \(Ctrl-C stops\)", line)
            if found:
                return found.group(1)

    def stop(self):
        """Ctrl-C; return (exit status, the rest of stdout)."""
        self.process.send_signal(signal.SIGINT)
        # As generous as the start: TensorFlow's teardown took over 60 s while a benchmark and the suite shared 2 cores.
        code = self.process.wait(timeout=START_TIMEOUT_S)
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        return code, "".join(rest)


def _listening_addresses(port):
    """Return the IPv4 addresses a socket listens on at ``port`` (from /proc/net/tcp)."""
    addresses = set()
    for line in pathlib.Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:
            addresses.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses


def _model_json(url):
    with urllib.request.urlopen(url + "api/model", timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def servers(model_path):
    """Two servers started together (they load the model at the same time): the default host, and 0.0.0.0."""
    started = {"default": ServerProcess(f"--model={model_path}"),
               "all": ServerProcess(f"--model={model_path}", "--host=0.0.0.0")}
    yield started
    for server in started.values():
        server.process.kill()
        server.process.wait()


def test_serves_on_localhost_by_default_and_stops_on_ctrl_c(servers, model_path):
    server = servers["default"]
    try:
        url = server.wait_for_url()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert url == f"http://127.0.0.1:{port}/"
        assert _listening_addresses(port) == {"127.0.0.1"}
        assert _model_json(url)["source"].endswith(str(model_path))
        assert not any("REACHABLE FROM THE NETWORK" in line for line in server.stderr)
        code, rest = server.stop()
    finally:
        server.process.kill()
    assert code == EXIT_OK
    assert rest.strip() == "explore: stopped"
    assert "Traceback" not in "".join(server.stderr)


def test_other_host_warns_that_the_page_is_reachable_from_the_network(servers):
    server = servers["all"]
    try:
        url = server.wait_for_url()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert _listening_addresses(port) == {"0.0.0.0"}
        assert _model_json(url)["latent_var_size"] > 0
        warning = "".join(server.stderr)
        assert "WARNING: listening on 0.0.0.0" in warning and "REACHABLE FROM THE NETWORK" in warning
        code, _ = server.stop()
    finally:
        server.process.kill()
    assert code == EXIT_OK


def _one_error_line(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("explore: error: "), lines
    return lines[0]


def test_missing_model_is_one_line(capsys, tmp_path):
    assert explore_cli.main(["explore", f"--model={tmp_path / 'nope.keras'}"]) == EXIT_FAILED
    assert "nope.keras does not exist" in _one_error_line(capsys)


def test_missing_shipped_model_names_the_fix(capsys, monkeypatch, tmp_path):
    import facenet_vae.generation.loading
    monkeypatch.setattr(facenet_vae.generation.loading, "shipped_model_path", lambda: str(tmp_path / "model.keras"))
    assert explore_cli.main(["explore"]) == EXIT_FAILED
    line = _one_error_line(capsys)
    assert "no --model given and the shipped model" in line and "pass --model=" in line


@pytest.mark.parametrize("args", [["--port=-1"], ["--port=65536"], ["--port=http"], ["--no_such_flag"], ["stray"]])
def test_bad_command_line_is_usage_error(capsys, args):
    assert explore_cli.main(["explore", *args]) == EXIT_USAGE
    _one_error_line(capsys)


def test_taken_port_is_one_line(capsys, model_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert explore_cli.main(["explore", f"--model={model_path}", f"--port={port}"]) == EXIT_FAILED
    assert f"cannot listen on 127.0.0.1 port {port}" in _one_error_line(capsys)


def test_help_lists_the_flags(capsys):
    assert explore_cli.main(["explore", "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert all(f"--{name}" in out for name in ("model", "host", "port", "attribute_vectors_file"))
