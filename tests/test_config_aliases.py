"""Coder's setting names are read as clarion's; names nobody reads are reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clarion.config import load_settings
from tests.cli.test_cli import server_env, wait_healthy
from tests.conftest import free_port


def _environment(monkeypatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_coder_method_alone_selects_the_webhook_method(tmp_path: Path, monkeypatch) -> None:
    env = {
        "CODER_NOTIFICATIONS_METHOD": "webhook",
        "CODER_NOTIFICATIONS_WEBHOOK_ENDPOINT": "https://hooks.example.com/coder",
        "CODER_NOTIFICATIONS_MAX_SEND_ATTEMPTS": "9",
        "CODER_EMAIL_SMARTHOST": "smtp.example.com:465",
        "CODER_NOTIFICATIONS_EMAIL_FROM": "Coder <coder@example.com>",
    }
    _environment(monkeypatch, env)
    settings = load_settings(data_dir=tmp_path)
    assert settings.method == "webhook"
    assert settings.webhook_endpoint == "https://hooks.example.com/coder"
    assert settings.max_send_attempts == 9
    assert settings.email_smarthost == "smtp.example.com:465"
    assert settings.email_from == "Coder <coder@example.com>"
    assert ("CODER_NOTIFICATIONS_METHOD", "CLARION_METHOD") in settings.notes.aliases


def test_clarions_own_name_wins_and_the_current_coder_name_before_the_old(
    tmp_path: Path, monkeypatch
) -> None:
    env = {
        "CLARION_METHOD": "inbox",
        "CODER_NOTIFICATIONS_METHOD": "webhook",
        "CODER_EMAIL_HELLO": "new.example.com",
        "CODER_NOTIFICATIONS_EMAIL_HELLO": "old.example.com",
    }
    _environment(monkeypatch, env)
    settings = load_settings(data_dir=tmp_path)
    assert settings.method == "inbox"
    assert settings.email_hello == "new.example.com"


def test_coder_flags_are_read_as_clarions(tmp_path: Path) -> None:
    args = [
        "--notifications-method",
        "webhook",
        "--notifications-email-hello=mx.example.com",
        "--notifications-lease-count",
        "7",
        "--email-tls-ca-cert-file",
        "/etc/ssl/ca.pem",
        "--notifications-email-tls-skip-verify",
    ]
    settings = load_settings(args, data_dir=tmp_path)
    assert settings.method == "webhook" and settings.email_hello == "mx.example.com"
    assert settings.dispatch_batch_size == 7
    assert str(settings.email_tls_ca_file) == "/etc/ssl/ca.pem"
    assert settings.email_tls_skip_verify is True
    assert ("--notifications-method", "--method") in settings.notes.aliases


def test_a_misspelt_variable_is_named_with_the_closest_setting(tmp_path: Path, monkeypatch) -> None:
    env = {
        "CLARION_RETENTON": "3d",
        "CODER_NOTIFICATIONS_MAX_SEND_ATTEMPT": "3",
        "CLARION_URL": "http://127.0.0.1:8080",  # the CLI's, not the server's
    }
    _environment(monkeypatch, env)
    notes = load_settings(data_dir=tmp_path).notes
    assert ("CLARION_RETENTON", "CLARION_RETENTION") in notes.unknown
    assert (
        "CODER_NOTIFICATIONS_MAX_SEND_ATTEMPT",
        "CODER_NOTIFICATIONS_MAX_SEND_ATTEMPTS",
    ) in notes.unknown
    assert not any(name == "CLARION_URL" for name, _ in notes.unknown)


def test_the_server_says_both_at_start(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(
        tmp_path / "data",
        port,
        CODER_NOTIFICATIONS_METHOD="webhook",
        CLARION_FETCH_INTERVALL="5s",
    )
    env.pop("CLARION_METHOD")
    proc = subprocess.Popen(
        [sys.executable, "-m", "clarion", "server", "--http-address", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_healthy(proc, port, lambda: "")
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "CODER_NOTIFICATIONS_METHOD" in output and "CLARION_METHOD" in output
    assert "CLARION_FETCH_INTERVALL" in output and "CLARION_FETCH_INTERVAL" in output
