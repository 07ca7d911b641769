"""Channel kinds: each kind's config schema, which fields are secret, and how to build its sender.

A kind is declared once, in its own module (``channels/<kind>.py``), as a :class:`ChannelKind`
and its module named in :data:`KIND_MODULES`. Nothing else needs to change to add one.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from clarion.delivery.guard import check_url_syntax
from clarion.delivery.http import HttpClient
from clarion.delivery.mail import Composer
from clarion.delivery.outcome import Sender
from clarion.delivery.scrub import ScrubbedSender


class _DestinationMarker:
    """See :data:`Destination`."""


_T = TypeVar("_T")
# A config field that decides where the channel's secrets are sent (a server URL, an SMTP
# host): when it changes, the stored secrets are not kept (see :func:`updated_config`).
Destination = Annotated[_T, _DestinationMarker()]


def _http_url(value: str) -> str:
    check_url_syntax(value)
    return value


def _base_url(value: str) -> str:
    return _http_url(value).rstrip("/")


# A provider URL used as given (a webhook's): absolute http(s) with a host, a destination.
HttpUrlField = Destination[Annotated[str, AfterValidator(_http_url)]]
# A provider's base URL, paths are appended to it: the same, without its trailing "/".
BaseUrlField = Destination[Annotated[str, AfterValidator(_base_url)]]


@dataclass(frozen=True)
class ChannelDeps:
    """What a channel sender may use: the shared HTTP client and the email composer."""

    http: HttpClient
    mail: Composer


@dataclass(frozen=True)
class ChannelKind:
    kind: str
    title: str
    config_model: type[BaseModel]
    secret_fields: frozenset[str]
    build: Callable[[Any, ChannelDeps], Sender]
    description: str = ""
    # Seconds between two messages to one destination (the provider's documented pace).
    min_interval: Callable[[Any], float] | None = None
    # Refuses a destination when saving (ChannelConfigError naming the field), for kinds
    # whose sender does not go through the HTTP client, which checks every send.
    check_destination: Callable[[Any, ChannelDeps], Awaitable[None]] | None = None

    @property
    def destination_fields(self) -> frozenset[str]:
        return frozenset(
            name
            for name, info in self.config_model.model_fields.items()
            if any(isinstance(m, _DestinationMarker) for m in info.metadata)
        )

    def schema(self) -> dict[str, Any]:
        schema = self.config_model.model_json_schema()
        properties = schema.get("properties", {})
        for name in self.secret_fields & properties.keys():
            properties[name]["writeOnly"] = True
            properties[name]["x-secret"] = True
        for name in self.destination_fields & properties.keys():
            properties[name]["x-destination"] = True
        return schema


class ChannelConfigError(ValueError):
    """An invalid channel config; the message names each bad field."""


# One module per kind under clarion.channels, each defining ``KIND``.
KIND_MODULES = (
    "apprise",
    "discord",
    "email",
    "gotify",
    "lark",
    "mattermost",
    "ntfy",
    "pushover",
    "resend",
    "slack",
    "slack_bot",
    "teams",
    "telegram",
    "webhook",
)


def _kinds() -> dict[str, ChannelKind]:
    found: list[ChannelKind] = [
        importlib.import_module(f"clarion.channels.{name}").KIND for name in KIND_MODULES
    ]
    return {k.kind: k for k in found}


KINDS: dict[str, ChannelKind] = {}


def kinds() -> dict[str, ChannelKind]:
    if not KINDS:
        KINDS.update(_kinds())
    return KINDS


def get_kind(kind: str) -> ChannelKind:
    found = kinds().get(kind)
    if found is None:
        raise ChannelConfigError(
            f"kind: unknown channel kind {kind!r}; one of {', '.join(sorted(kinds()))}"
        )
    return found


def _model(spec: ChannelKind, raw: dict[str, Any]) -> BaseModel:
    """The kind's config model; a ChannelConfigError naming each bad field, never the value
    (pydantic's own message repeats the input, and configs hold secrets)."""
    try:
        return spec.config_model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"config.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ChannelConfigError(problems) from None


def validate_config(kind: str, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check ``raw`` against the kind's schema; return (public fields, secret fields)."""
    spec = get_kind(kind)
    values = _model(spec, raw).model_dump(mode="json")
    secret = {k: v for k, v in values.items() if k in spec.secret_fields and v not in (None, "")}
    public = {k: v for k, v in values.items() if k not in spec.secret_fields}
    return public, secret


def updated_config(
    kind: str, stored: Mapping[str, Any], stored_secrets: Mapping[str, Any], given: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ``given``, the new config of a saved channel; (public fields, secret fields).

    A secret field left out of ``given`` keeps its stored value (``None`` removes it), unless
    a :data:`Destination` field changes: a stored secret is not sent somewhere new, so every
    one must then be given again, else a ChannelConfigError naming each.
    """
    spec = get_kind(kind)
    kept = {k: v for k, v in stored_secrets.items() if k in spec.secret_fields and k not in given}
    public, secret = validate_config(
        kind, {k: v for k, v in {**kept, **given}.items() if v is not None}
    )
    if not kept:
        return public, secret
    try:
        before = _model(spec, {**stored, **stored_secrets}).model_dump(mode="json")
    except ChannelConfigError:
        before = {}  # no longer valid: compared with nothing, every destination is new
    after = {**public, **secret}
    moved = [
        f"config.{f}" for f in sorted(spec.destination_fields) if after.get(f) != before.get(f)
    ]
    if moved:
        raise ChannelConfigError(
            "; ".join(
                f"config.{name}: give it again (or remove it): {' and '.join(moved)} changed, "
                "and a stored secret is never sent to a new destination"
                for name in sorted(kept)
            )
        )
    return public, secret


async def check_destination(kind: str, config: dict[str, Any], deps: ChannelDeps) -> None:
    """Refuse a config whose destination the guard refuses, before it is saved."""
    spec = get_kind(kind)
    if spec.check_destination is not None:
        await spec.check_destination(_model(spec, config), deps)


def build_sender(kind: str, config: dict[str, Any], deps: ChannelDeps) -> Sender:
    """The kind's sender; its reasons never carry the config's secrets (a provider's error
    may echo them, and reasons are shown to every admin and logged)."""
    spec = get_kind(kind)
    sender = spec.build(_model(spec, config), deps)
    secrets = [config[name] for name in sorted(spec.secret_fields) if config.get(name)]
    return ScrubbedSender(sender, *secrets) if secrets else sender


def min_interval(kind: str, config: dict[str, Any]) -> float:
    spec = get_kind(kind)
    if spec.min_interval is None:
        return 0.0
    return spec.min_interval(_model(spec, config))


def masked(kind: str, public: dict[str, Any], secret_names: set[str]) -> dict[str, Any]:
    """The config as the API shows it: secrets only as set / not set."""
    spec = get_kind(kind)
    shown = dict(public)
    for name in spec.secret_fields:
        shown[name] = {"set": name in secret_names}
    return shown
