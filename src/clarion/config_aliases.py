"""Coder's setting names, accepted as they are, and a word about names nobody reads.

A Coder operator already has ``CODER_NOTIFICATIONS_*`` and ``CODER_EMAIL_*`` variables (and
``--notifications-*`` flags); clarion takes each as the matching ``CLARION_*`` setting, so a
deployment moves over unchanged. A ``CLARION_*`` variable of the same setting wins. A
misspelt ``CLARION_*`` or ``CODER_NOTIFICATIONS_*`` variable would otherwise be dropped
without a word; it is reported with the closest known setting.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

# Coder's variable -> clarion's setting. CODER_EMAIL_* are Coder's current names; the
# CODER_NOTIFICATIONS_EMAIL_* forms are its older ones, still read.
CODER_VARIABLES: dict[str, str] = {
    "CODER_NOTIFICATIONS_METHOD": "method",
    "CODER_NOTIFICATIONS_DISPATCH_TIMEOUT": "dispatch_timeout",
    "CODER_NOTIFICATIONS_MAX_SEND_ATTEMPTS": "max_send_attempts",
    "CODER_NOTIFICATIONS_FETCH_INTERVAL": "fetch_interval",
    "CODER_NOTIFICATIONS_RETRY_INTERVAL": "retry_interval",
    "CODER_NOTIFICATIONS_LEASE_PERIOD": "lease_period",
    "CODER_NOTIFICATIONS_LEASE_COUNT": "dispatch_batch_size",
    "CODER_NOTIFICATIONS_WEBHOOK_ENDPOINT": "webhook_endpoint",
    **{
        f"{prefix}{name}": setting
        for prefix in ("CODER_EMAIL_", "CODER_NOTIFICATIONS_EMAIL_")
        for name, setting in {
            "FROM": "email_from",
            "SMARTHOST": "email_smarthost",
            "HELLO": "email_hello",
            "FORCE_TLS": "email_force_tls",
            "AUTH_USERNAME": "email_auth_username",
            "AUTH_PASSWORD": "email_auth_password",
            "AUTH_PASSWORD_FILE": "email_auth_password_file",
            "AUTH_IDENTITY": "email_auth_identity",
            "TLS_STARTTLS": "email_tls_starttls",
            "TLS_SKIPVERIFY": "email_tls_skip_verify",
            "TLS_SERVERNAME": "email_tls_server_name",
            "TLS_CERTFILE": "email_tls_cert_file",
            "TLS_CERTKEYFILE": "email_tls_cert_key_file",
            "TLS_CACERTFILE": "email_tls_ca_file",
        }.items()
    },
}
# Coder's server flags whose names differ from clarion's beyond the --notifications- prefix
# (Coder's other --notifications-<name> and --notifications-email-* flags are clarion's
# --<name> and --email-*).
_FLAG_PREFIX = "--notifications-"
CODER_FLAGS: dict[str, str] = {
    "--notifications-lease-count": "--dispatch-batch-size",
    "--email-tls-ca-cert-file": "--email-tls-ca-file",
    "--notifications-email-tls-ca-cert-file": "--email-tls-ca-file",
}
# CLARION_* variables read by the CLI and the test harnesses, not by the server.
NOT_SETTINGS = frozenset({"CLARION_URL", "CLARION_TOKEN"})
_HARNESS_PREFIXES = (
    "CLARION_TEST_",
    "CLARION_CHAOS_",
    "CLARION_AUTHZ_",
    "CLARION_UPDATE_",
    "CLARION_FUZZ_",
    "CLARION_BENCH_",
)


@dataclass
class EnvironmentNotes:
    """What the server says at start about the names it was given."""

    aliases: list[tuple[str, str]] = field(default_factory=list)  # (given, CLARION_* read as)
    unknown: list[tuple[str, str | None]] = field(default_factory=list)  # (given, closest)

    def lines(self) -> list[str]:
        said = [f"{given} is read as {clarion}" for given, clarion in self.aliases]
        for given, closest in self.unknown:
            hint = f"; did you mean {closest}?" if closest else ""
            said.append(f"{given} is not a setting and is ignored{hint}")
        return said


def _variable(setting: str) -> str:
    return f"CLARION_{setting.upper()}"


def from_coder(
    environ: Mapping[str, str], settings: Collection[str], notes: EnvironmentNotes
) -> dict[str, str]:
    """The settings Coder's variables give, where no CLARION_* variable gives them."""
    values: dict[str, str] = {}
    for variable, setting in CODER_VARIABLES.items():
        if variable not in environ or setting not in settings:
            continue
        if _variable(setting) in environ or setting in values:
            continue
        values[setting] = environ[variable]
        notes.aliases.append((variable, _variable(setting)))
    return values


def translate_flags(
    args: Sequence[str], settings: Collection[str], notes: EnvironmentNotes
) -> list[str]:
    """Coder's flags as clarion's: ``--notifications-method smtp`` as ``--method smtp``,
    ``--notifications-lease-count=7`` as ``--dispatch-batch-size=7``."""
    out = []
    for arg in args:
        name, eq, value = arg.partition("=")
        translated = CODER_FLAGS.get(name)
        if translated is None and name.startswith(_FLAG_PREFIX):
            setting = name.removeprefix(_FLAG_PREFIX).replace("-", "_")
            if setting in settings:
                translated = "--" + setting.replace("_", "-")
        if translated is not None:
            notes.aliases.append((name, translated))
            arg = translated + eq + value
        out.append(arg)
    return out


def unknown_variables(
    environ: Mapping[str, str], settings: Collection[str], notes: EnvironmentNotes
) -> None:
    """Note each CLARION_* or CODER_NOTIFICATIONS_* variable that no setting reads."""
    known = {_variable(s) for s in settings} | NOT_SETTINGS
    for variable in sorted(environ):
        if variable.startswith("CLARION_"):
            if variable in known or variable.startswith(_HARNESS_PREFIXES):
                continue
            candidates = sorted(known - NOT_SETTINGS)
        elif variable.startswith("CODER_NOTIFICATIONS_"):
            if variable in CODER_VARIABLES:
                continue
            candidates = sorted(CODER_VARIABLES)
        else:
            continue
        close = difflib.get_close_matches(variable, candidates, n=1, cutoff=0.6)
        notes.unknown.append((variable, close[0] if close else None))
