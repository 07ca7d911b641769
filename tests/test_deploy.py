"""What an operator deploys (deploy/, Containerfile) holds together: the compose file's
services and their order, the variables .env.example must list, the systemd units'
hardening (checked by systemd-analyze), and the image's runtime settings. Building and
running the image is `make image-test`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}")


def _env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip('"')
    return values


def _interpolate(value: Any, env: dict[str, str], missing: set[str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, taking values from ``env``."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, missing) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if env.get(name):
            return env[name]
        if kind == "?":
            missing.add(name)
            return ""
        return rest if kind == "-" else ""

    return _VARIABLE.sub(one, value)


def _compose() -> dict[str, Any]:
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    missing: set[str] = set()
    resolved: dict[str, Any] = _interpolate(raw, _env_example(), missing)
    assert not missing, f"required by compose.yaml but not in .env.example: {missing}"
    return resolved


def test_compose_runs_migrate_once_before_two_replicas_sharing_the_key() -> None:
    services = _compose()["services"]
    assert {"postgres", "migrate", "clarion-1", "clarion-2", "proxy", "mailpit", "agent"} <= set(
        services
    )
    postgres = services["postgres"]
    assert postgres["image"].endswith("postgres:16")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])

    migrate = services["migrate"]
    assert migrate["command"] == ["db", "migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"

    replicas = [services["clarion-1"], services["clarion-2"]]
    for replica in replicas:
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "ports" not in replica  # reached through the proxy only
        assert replica["image"] == migrate["image"]
        env = replica["environment"]
        assert env["CLARION_DATABASE_URL"].startswith("postgresql://clarion:")
        assert env["CLARION_DATABASE_URL"].endswith("@postgres:5432/clarion")
        assert env["CLARION_EMAIL_SMARTHOST"] == "mailpit:1025"
    shared = ("CLARION_SECRET_KEY", "CLARION_DATABASE_URL", "CLARION_ADMIN_TOKEN")
    for name in shared:
        values = {r["environment"][name] for r in [*replicas, migrate]}
        assert len(values) == 1 and values != {""}, name
    assert replicas[0]["environment"]["CLARION_SECRET_KEY"] == _env_example()["CLARION_SECRET_KEY"]

    proxy = services["proxy"]
    assert proxy["ports"] == ["8080:8080"]
    assert {n: d["condition"] for n, d in proxy["depends_on"].items()} == {
        "clarion-1": "service_healthy",
        "clarion-2": "service_healthy",
    }
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy clarion-1:8080 clarion-2:8080", caddyfile)
    mounted = [v.split(":")[0] for v in proxy["volumes"]]
    assert "./Caddyfile" in mounted

    mailpit = services["mailpit"]
    assert mailpit["image"].split(":")[0].endswith("axllent/mailpit")
    assert any(p.endswith(":8025") for p in mailpit["ports"])

    agent = services["agent"]
    assert agent["profiles"] == ["agent"] and agent["command"] == ["agent"]


def test_env_example_says_how_to_make_each_secret() -> None:
    text = (DEPLOY / ".env.example").read_text()
    names = set(_env_example())
    assert {
        "CLARION_SECRET_KEY",
        "CLARION_ADMIN_TOKEN",
        "POSTGRES_PASSWORD",
        "CLARION_ACCESS_URL",
        "CLARION_EMAIL_FROM",
    } <= names
    assert "Fernet.generate_key()" in text and "secrets.token_urlsafe" in text


def _unit(path: Path) -> dict[str, list[str]]:
    """A unit file's settings, each name with all of its values (some are repeated)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            name, _, value = line.partition("=")
            settings.setdefault(name.strip(), []).append(value.strip())
    return settings


HARDENING = {
    "DynamicUser": ["yes"],
    "ProtectSystem": ["strict"],
    "ProtectHome": ["yes"],
    "PrivateTmp": ["yes"],
    "NoNewPrivileges": ["yes"],
    "CapabilityBoundingSet": [""],
    "RestrictAddressFamilies": ["AF_INET AF_INET6 AF_UNIX"],
}


def test_systemd_units_are_hardened_and_verify(tmp_path: Path) -> None:
    server = _unit(DEPLOY / "systemd" / "clarion.service")
    agent = _unit(DEPLOY / "systemd" / "clarion-agent.service")
    for unit in (server, agent):
        for name, value in HARDENING.items():
            assert unit.get(name) == value, name
        assert "@system-service" in unit["SystemCallFilter"]
    assert server["ExecStart"] == ["/usr/local/bin/clarion server"]
    assert server["StateDirectory"] == ["clarion"]
    assert "CLARION_DATA_DIR=/var/lib/clarion" in server["Environment"]
    assert server["EnvironmentFile"] == ["-/etc/clarion/clarion.env"]
    assert agent["ExecStart"] == ["/usr/local/bin/clarion agent"]

    # systemd-analyze checks every setting's name and value; it also wants the programs
    # to exist, so the units point at this environment's clarion for the check.
    clarion = Path(sys.executable).parent / "clarion"
    assert clarion.exists(), clarion
    for name in ("clarion.service", "clarion-agent.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        (tmp_path / name).write_text(text.replace("/usr/local/bin/clarion", str(clarion)))
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian's systemd package) checks the units"
    result = subprocess.run(
        [analyze, "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stdout + result.stderr


def test_containerfile_runs_clarion_unprivileged_with_data_in_a_volume() -> None:
    text = (ROOT / "Containerfile").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms == ["FROM ${BASE} AS build", "FROM ${BASE}"]
    assert lines[0].startswith("ARG BASE="), "the base is a build argument, before FROM"
    runtime = text[text.index(froms[1]) :]
    assert re.search(r"^USER clarion$", runtime, re.M)
    assert re.search(r"^VOLUME /data$", runtime, re.M)
    assert "CLARION_DATA_DIR=/data" in runtime and "CLARION_HTTP_ADDRESS=0.0.0.0:8080" in runtime
    assert re.search(r"^HEALTHCHECK .*/healthz", runtime, re.M | re.S)
    assert re.search(r'^ENTRYPOINT \["clarion"\]$', runtime, re.M)
    assert re.search(r'^CMD \["server"\]$', runtime, re.M)
    assert "python -m build" in text
