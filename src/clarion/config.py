"""Settings: every option is a ``CLARION_*`` environment variable and a ``clarion server`` flag.

Durations are written as in Go and Coder (``15s``, ``5m``, ``1h30m``, ``7d``) and parsed
into :class:`datetime.timedelta`.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from clarion import config_aliases
from clarion.config_aliases import EnvironmentNotes
from clarion.limits import MAX_FORM_BYTES, MAX_REQUEST_BYTES

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
# A duration as the schema says it: a number of seconds, or numbers with units (1h30m).
DURATION_PATTERN = r"^\d+(\.\d+)?((ms|s|m|h|d)(\d+(\.\d+)?(ms|s|m|h|d))*)?$"
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """Parse ``"15s"``, ``"1h30m"``, ``"7d"`` or a number of seconds into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return _seconds(value, value)
    text = str(value).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _seconds(float(text), value)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(
            f"invalid duration {value!r}: write a number with a unit, e.g. 500ms, 15s, 5m, 1h, 7d"
        )
    return _seconds(total, value)


def _seconds(seconds: float, written: Any) -> timedelta:
    # timedelta holds under a billion days; a longer one is a bad value, not a crash.
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"duration {written!r} is too long") from None


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Method = Literal["smtp", "webhook", "inbox", "resend", "slack"]
METHODS: tuple[str, ...] = get_args(Method)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLARION_", extra="ignore", validate_default=True, populate_by_name=True
    )

    http_address: str = Field("127.0.0.1:8080", description="host:port for the API, UI, /metrics")
    database_url: str = Field(
        "", description="sqlite:///path or postgresql://… (default: data dir)"
    )
    data_dir: Path = Field(Path(".clarion"), description="SQLite file and generated secret key")
    access_url: str = Field("", description="base of links in messages (default http://+address)")
    admin_token: SecretStr | None = Field(None, description="bearer token with owner rights")
    method: Method = Field("smtp", description="default user delivery method")
    dispatch_timeout: Duration = Field(timedelta(minutes=1), description="one send's time limit")
    max_send_attempts: int = Field(5, ge=1, description="attempts before permanent_failure")
    fetch_interval: Duration = Field(timedelta(seconds=15), description="fallback queue poll")
    retry_interval: Duration = Field(
        timedelta(minutes=5),
        description="retry backoff scale: the first retry after a quarter of it, each next"
        " wait doubled up to twice it, each ±25% at random",
    )
    lease_period: Duration = Field(timedelta(minutes=2), description="how long a claim holds")
    retention: Duration = Field(timedelta(days=7), description="age after which messages go")
    webhook_endpoint: str | None = Field(None, description="system webhook for method webhook")
    allow_private_destinations: bool = Field(
        False, description="allow webhook/channel URLs on loopback and private ranges"
    )
    secret_key: SecretStr | None = Field(None, description="Fernet key(s), comma-separated")
    trusted_proxies: str = Field(
        "127.0.0.1,::1",
        description="addresses (or CIDR ranges, or *) whose X-Forwarded-Proto and "
        "X-Forwarded-For are believed: the client's address and https come from them",
    )

    # Inbox streams (SSE): a comment line keeps idle connections open and re-checks the
    # caller's token; a stream ends at its maximum life and the client reconnects with since=.
    stream_heartbeat: Duration = Field(
        timedelta(seconds=15), description="idle time between inbox stream heartbeats"
    )
    stream_max_lifetime: Duration = Field(
        timedelta(hours=1), description="an inbox stream is closed after this long"
    )
    streams_per_user: int = Field(5, ge=1, description="open inbox streams per user (then 429)")

    # Dispatcher sizing: how many sends are in flight and how many rows one claim takes.
    dispatch_concurrency: int = Field(64, ge=1, description="sends in flight per process")
    dispatch_batch_size: int = Field(256, ge=1, description="messages claimed per query")
    max_request_bytes: int = Field(
        MAX_REQUEST_BYTES,
        ge=MAX_FORM_BYTES,
        description="largest request body accepted (413 above it); a batch of events is the "
        "largest there is",
    )

    email_from: str = Field("", description="From address, e.g. 'Clarion <n@example.com>'")
    email_smarthost: str = Field("localhost:587", description="SMTP host:port")
    email_hello: str = Field("localhost", description="EHLO hostname")
    email_force_tls: bool = Field(False, description="implicit TLS (port 465 forces it)")
    email_auth_username: str = Field("", description="SMTP auth username")
    email_auth_password: SecretStr | None = Field(None, description="SMTP auth password")
    email_auth_password_file: Path | None = Field(None, description="file holding the password")
    email_auth_identity: str = Field("", description="SMTP PLAIN auth identity")
    email_auth_oauth_token: SecretStr | None = Field(
        None, description="XOAUTH2 bearer token (Gmail, Office 365)"
    )
    email_auth_oauth_token_file: Path | None = Field(
        None, description="file holding the XOAUTH2 token, re-read for each new connection"
    )
    email_tls_starttls: bool = Field(False, description="require STARTTLS")
    email_tls_skip_verify: bool = Field(False, description="do not verify the server cert")
    email_tls_server_name: str = Field("", description="expected server name for TLS")
    email_tls_cert_file: Path | None = Field(None, description="client certificate")
    email_tls_cert_key_file: Path | None = Field(None, description="client certificate key")
    email_tls_ca_file: Path | None = Field(None, description="CA bundle to verify the server")
    email_brand_name: str = Field("clarion", description="name shown in the email header")
    email_logo_url: str = Field("", description="https URL of a logo for the email header")
    email_brand_color: str = Field(
        "#2563eb", pattern=r"^#[0-9a-fA-F]{6}$", description="buttons and header accent"
    )

    resend_api_key: SecretStr | None = Field(None, description="Resend API key (method resend)")
    resend_api_url: str = Field("https://api.resend.com", description="Resend API base URL")
    slack_bot_token: SecretStr | None = Field(None, description="Slack bot token (method slack)")
    slack_api_url: str = Field("https://slack.com/api", description="Slack Web API base URL")
    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack app's signing secret: checks button clicks sent to clarion"
    )

    log_format: Literal["console", "json"] = Field("console", description="log line format")
    log_level: str = Field("info", description="debug, info, warning, error")

    # What was read under Coder's names, and what was not read at all (load_settings).
    _notes: EnvironmentNotes = PrivateAttr(default_factory=EnvironmentNotes)

    @property
    def notes(self) -> EnvironmentNotes:
        return self._notes

    @notes.setter
    def notes(self, value: EnvironmentNotes) -> None:
        self._notes = value

    @field_validator("http_address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        _, sep, port = value.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"http_address {value!r} must be host:port, e.g. 127.0.0.1:8080")
        return value

    @field_validator("stream_heartbeat", "stream_max_lifetime")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero, e.g. 15s or 1h")
        return value

    @model_validator(mode="after")
    def _claim_outlives_a_send(self) -> Settings:
        # A dispatcher hands back a claimed message rather than start a send its lease might
        # not cover; with a lease no longer than a send, it would hand back everything.
        if self.lease_period <= self.dispatch_timeout:
            raise ValueError(
                f"lease_period ({self.lease_period}) must be longer than dispatch_timeout "
                f"({self.dispatch_timeout}): set CLARION_LEASE_PERIOD above "
                "CLARION_DISPATCH_TIMEOUT, or a send could outlive its claim and the message "
                "be sent twice"
            )
        return self

    @property
    def host(self) -> str:
        return self.http_address.rpartition(":")[0].strip("[]") or "0.0.0.0"

    @property
    def port(self) -> int:
        return int(self.http_address.rpartition(":")[2])

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'clarion.db').resolve()}"

    @property
    def resolved_access_url(self) -> str:
        return (self.access_url or f"http://{self.http_address}").rstrip("/")

    def email_password(self) -> str | None:
        """The SMTP password, from the setting or from the password file."""
        if self.email_auth_password is not None:
            return self.email_auth_password.get_secret_value()
        if self.email_auth_password_file is not None:
            return self.email_auth_password_file.read_text().strip()
        return None

    def email_oauth_token(self) -> str | None:
        """The XOAUTH2 token, from the setting or (fresh each time) from the token file."""
        if self.email_auth_oauth_token is not None:
            return self.email_auth_oauth_token.get_secret_value()
        if self.email_auth_oauth_token_file is not None:
            return self.email_auth_oauth_token_file.read_text().strip()
        return None


def load_settings(cli_args: list[str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with ``clarion server`` flags (kebab-case) on top.

    Coder's names for the same settings are read too (see :mod:`clarion.config_aliases`);
    what was read under another name, and which variables were not read at all, is kept in
    :attr:`Settings.notes` for the server to say at start.
    """
    env = os.environ
    fields = set(Settings.model_fields)
    notes = EnvironmentNotes()
    args = config_aliases.translate_flags(cli_args or [], fields, notes)
    flagged = {a.partition("=")[0][2:].replace("-", "_") for a in args if a.startswith("--")}
    values = {**config_aliases.from_coder(env, fields - flagged, notes), **overrides}
    config_aliases.unknown_variables(env, fields, notes)
    if cli_args is None:
        settings = Settings(**values)
    else:
        settings = Settings(
            _cli_parse_args=args,
            _cli_kebab_case=True,
            _cli_prog_name="clarion server",
            _cli_implicit_flags=True,
            **values,
        )
    settings.notes = notes
    return settings
