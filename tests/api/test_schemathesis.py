"""Schemathesis over /openapi.json with every check (not only "no server error"): answers
conform to the schema (statuses, bodies, content types, headers), invalid input is refused,
valid input accepted, and the stateful phase follows the links between operations.

``make test`` runs a short round; ``make fuzz`` a long one (CLARION_FUZZ_EXAMPLES). What the
schema cannot judge is configured in schemathesis.toml, with the reasons.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli.test_cli import TOKEN, server_env, start_process, wait_healthy
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = os.environ.get("CLARION_FUZZ_EXAMPLES", "4")
SEED = os.environ.get("CLARION_FUZZ_SEED", "20261203")


def _call(url: str, path: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.load(answer))


@pytest.mark.slow
def test_the_api_keeps_its_schema_under_schemathesis(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(tmp_path / "data", port, CLARION_METHOD="inbox")
    server = start_process(env, port, subprocess.DEVNULL, subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(server, port, lambda: "")
        # An owner of its own: the admin token has no user, so user routes would all be 400.
        owner = _call(url, "/api/v1/users", {"email": "owner@example.com", "roles": ["owner"]})
        token = _call(url, f"/api/v1/users/{owner['id']}/tokens", {})["token"]
        began = time.monotonic()
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("st")),
                "--config-file",
                str(ROOT / "schemathesis.toml"),
                "run",
                f"{url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "all",
                "--max-examples",
                EXAMPLES,
                "--seed",
                SEED,
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=1500,
            cwd=tmp_path,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary = run.stdout[run.stdout.find("SUMMARY") :]
    print(f"schemathesis ({time.monotonic() - began:.0f} s):\n{summary}")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in summary and "failure" not in summary.lower()
