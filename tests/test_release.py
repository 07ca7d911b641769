"""The release build: `python -m build` makes an sdist and a wheel that `twine check` accepts,
and the wheel, installed into a fresh virtual environment, runs and migrates a database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the server reads from the package at run time, besides its modules.
PACKAGE_DATA = (
    "clarion/py.typed",
    "clarion/render/layouts/email.html",
    "clarion/store/migrations/env.py",
    "clarion/store/migrations/versions/0001_initial_schema.py",
    "clarion/web/static/inbox.js",
    "clarion/web/templates/base.html",
)


def _run(*args: str | Path, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_migrates(tmp_path: Path) -> None:
    # Built from a copy: the build writes egg-info and build/ beside the sources.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "site",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*cache",
            "test-artifacts",
            ".clarion",
        ),
    )
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--outdir", dist, source)
    wheels = sorted(dist.glob("clarion-*.whl"))
    sdists = sorted(dist.glob("clarion-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in dist.iterdir())
    checked = _run(sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists)
    assert checked.count("PASSED") == 2, checked

    names = set(zipfile.ZipFile(wheels[0]).namelist())
    assert set(PACKAGE_DATA) <= names, set(PACKAGE_DATA) - names
    templates = {n for n in names if n.startswith("clarion/web/templates/")}
    assert templates == {
        f"clarion/web/templates/{p.name}"
        for p in (ROOT / "src/clarion/web/templates").glob("*.html")
    }
    with tarfile.open(sdists[0]) as sdist:
        in_sdist = {n.partition("/")[2] for n in sdist.getnames()}
    assert {f"src/{p}" for p in PACKAGE_DATA} <= in_sdist

    # Nothing of this checkout on the path: pip would take it for clarion installed already.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CLARION_") and k != "PYTHONPATH"
    }
    env["CLARION_DATA_DIR"] = str(tmp_path / "data")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, env=env)
    # Dependencies come from the index pip is configured with (pip.conf, PIP_* variables).
    _run(venv / "bin" / "pip", "install", "--quiet", wheels[0], env=env)
    assert "db" in _run(venv / "bin" / "clarion", "--help", env=env)
    # The installed package, not this checkout, is what runs.
    where = _run(venv / "bin" / "python", "-c", "import clarion; print(clarion.__file__)", env=env)
    assert where.startswith(str(venv)), where
    assert "up to date" in _run(venv / "bin" / "clarion", "db", "migrate", env=env)
    with sqlite3.connect(tmp_path / "data" / "clarion.db") as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    newest = sorted((ROOT / "src/clarion/store/migrations/versions").glob("[0-9]*.py"))[-1]
    assert revision is not None and newest.name.startswith(f"{revision[0]}_"), revision
    assert {"messages", "users", "channels"} <= tables
