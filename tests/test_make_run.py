"""`make run`, the README's first command, as a newcomer or an operator runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
# It runs `make run`: a virtualenv check and a server process.
pytestmark = pytest.mark.slow


def _status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_make_run_keeps_the_operators_admin_token(tmp_path: Path) -> None:
    """It used to replace CLARION_ADMIN_TOKEN with the token it generated."""
    address = f"127.0.0.1:{free_port()}"
    token = "operator-chosen-admin-token-0123456789"
    env = {**os.environ, "CLARION_ADMIN_TOKEN": token, "CLARION_HTTP_ADDRESS": address}
    data = tmp_path / "data"
    command = ["make", "-s", "-o", "install", "run", f"VENV={sys.prefix}", f"DATA_DIR={data}"]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{address}/api/v1/users"
    try:
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = _status(url, token)
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200, f"make run did not accept the operator's token ({status})"
        assert not (data / "admin-token").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert token not in output
    assert "your CLARION_ADMIN_TOKEN" in output
