"""Starts the real `sfu` binary for the protocol tests (bounded timeouts everywhere)."""
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
AUTH_KEY = "u6bsUQEWrHdKIuYplirRnbBmLbrKV5PxKG7DtA71mng="
PUBLIC_IP = "203.0.113.10"


def sfu_binary() -> pathlib.Path:
    env = os.environ.get("SFU_BINARY")
    if env:
        return pathlib.Path(env)
    for candidate in (ROOT / ".build" / "debug" / "sfu", ROOT / ".build" / "release" / "sfu"):
        if candidate.exists():
            return candidate
    pytest.fail("sfu binary not found: run `swift build --product sfu` or set SFU_BINARY")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, extra_env=None):
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AUTH_KEY": AUTH_KEY,
            "PUBLIC_IP": PUBLIC_IP,
            "HTTP_INTERFACE": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "verbose",
            "LOG_COLOR": "",
        }
        self.env.update(extra_env or {})
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log_path = None

    def start(self, tmp_path):
        self.log_path = tmp_path / f"sfu-{self.port}.log"
        self.log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen([str(sfu_binary())], env=self.env, stdout=self.log_file,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"sfu exited early ({self.process.returncode}): {self.log()}")
            try:
                if requests.get(self.base + "/v1/noop", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail("sfu did not answer /v1/noop within 20 s")

    def log(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log_file.close()
        return self.process.returncode


@pytest.fixture
def server(tmp_path):
    s = Server().start(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def proxy_server(tmp_path):
    s = Server({"PROXY": "1"}).start(tmp_path)
    yield s
    s.stop()
