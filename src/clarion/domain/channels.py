"""Team channels' rules, the one place the API and the pages both go through: a channel's
name, the event types it receives, its config (validated by its kind, secrets kept unless
the destination moves, the destination checked before saving), and Test Connection.

Secret fields are write-only: once saved they are only used, never shown. A change of
config that leaves a secret out keeps the stored value, unless it changes where the
secrets go (a destination field): then each must be given again
(:func:`clarion.channels.registry.updated_config`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clarion.channels.probe import ProbeResult, send_test_message
from clarion.channels.registry import (
    ChannelConfigError,
    ChannelDeps,
    ChannelKind,
    check_destination,
    get_kind,
    updated_config,
    validate_config,
)
from clarion.errors import Conflict, Invalid, NotFound
from clarion.limits import NAME_LENGTH
from clarion.secrets import SecretBox, SecretsError
from clarion.store import channels as store
from clarion.store.db import Database
from clarion.store.event_types import unknown_event_types

Channel = store.Channel


class ChannelInvalid(Invalid):
    """Every problem found in a channel's input at once, so a form can show them all;
    ``field`` names the first, and each of ``problems`` its own."""

    def __init__(self, problems: Sequence[Invalid]):
        super().__init__("; ".join(str(p) for p in problems))
        self.field = problems[0].field if problems else None
        self.problems = tuple(problems)


def _config_problems(exc: ChannelConfigError) -> list[Invalid]:
    """A kind's config error, one Invalid per field it names (``config.url: …``)."""
    problems = []
    for part in str(exc).split("; "):
        where, colon, message = part.partition(": ")
        problems.append(Invalid(message, field=where) if colon else Invalid(part))
    return problems


def name_problem(name: str) -> Invalid | None:
    """The rule for a channel's name: given, at most NAME_LENGTH characters."""
    if not name.strip():
        return Invalid("give the channel a name", field="name")
    if len(name) > NAME_LENGTH:
        return Invalid(f"at most {NAME_LENGTH} characters", field="name")
    return None


def kind_of(kind: str) -> ChannelKind:
    """The kind named; Invalid naming ``kind`` when this version has none of that name."""
    try:
        return get_kind(kind)
    except ChannelConfigError as exc:
        raise ChannelInvalid(_config_problems(exc)) from None


@dataclass
class Checked:
    """A channel's input as checked: the config to send or store (``None`` while it is not
    valid), split into public and secret fields, and every problem found."""

    public: dict[str, Any] | None = None
    secret: dict[str, Any] = field(default_factory=dict)
    problems: list[Invalid] = field(default_factory=list)

    @property
    def config(self) -> dict[str, Any] | None:
        """The whole config, secrets included: for sending only."""
        return None if self.public is None else {**self.public, **self.secret}

    def accepted(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(public fields, secret fields) when nothing is wrong (None: no config given);
        ChannelInvalid naming every problem otherwise."""
        if self.problems:
            raise ChannelInvalid(self.problems)
        return None if self.public is None else (self.public, self.secret)


@dataclass(frozen=True)
class Channels:
    db: Database
    box: SecretBox
    deps: ChannelDeps

    async def list_all(self, *, with_secrets: bool = True) -> list[Channel]:
        """Every channel by name. Without secrets, their sealed values are not opened (the
        pages' list: it must show even when a key to open them is missing)."""
        async with self.db.read() as conn:
            return await store.list_channels(conn, self.box if with_secrets else None)

    async def get(self, channel_id: uuid.UUID, *, with_secrets: bool = True) -> Channel:
        """NotFound when there is none; a Conflict when its secrets cannot be opened (a key
        missing from CLARION_SECRET_KEY)."""
        try:
            async with self.db.read() as conn:
                channel = await store.get_channel(
                    conn, self.box if with_secrets else None, channel_id
                )
        except SecretsError as exc:
            raise Conflict(f"{exc} Remove the channel and add it again.") from None
        if channel is None:
            raise NotFound(f"no channel {channel_id}")
        return channel

    async def check(
        self,
        kind: str,
        *,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        events: Sequence[str] | None = None,
        saved: Channel | None = None,
        for_saving: bool = True,
    ) -> Checked:
        """Check what is given (``None``: not given) by the rules for a channel of ``kind``;
        ``saved`` the channel it changes. The destination is checked only ``for_saving``: a
        test send goes through the HTTP client's guard anyway. Never raises for the input:
        the problems are in the answer."""
        checked = Checked()
        if name is not None and (problem := name_problem(name)) is not None:
            checked.problems.append(problem)
        if events:
            async with self.db.read() as conn:
                unknown = await unknown_event_types(conn, events)
            if unknown:
                checked.problems.append(
                    Invalid(f"unknown event type(s) {', '.join(unknown)}", field="events")
                )
        if config is None:
            return checked
        try:
            if saved is None:
                public, secret = validate_config(kind, config)
            else:
                public, secret = updated_config(kind, saved.config, saved.secrets, config)
            if for_saving:
                await check_destination(kind, {**public, **secret}, self.deps)
        except ChannelConfigError as exc:
            checked.problems.extend(_config_problems(exc))
        else:
            checked.public, checked.secret = public, secret
        return checked

    async def create(
        self,
        *,
        name: str,
        kind: str,
        config: dict[str, Any],
        events: Sequence[str],
        enabled: bool,
    ) -> Channel:
        """ChannelInvalid naming every problem; a Conflict when the name is taken."""
        checked = await self.check(kind, name=name, config=config, events=events)
        accepted = checked.accepted()
        if accepted is None:
            raise Invalid("give the channel's config", field="config")
        async with self.db.begin() as conn:
            return await store.create_channel(
                conn,
                self.box,
                name=name,
                kind=kind,
                config=accepted[0],
                secrets=accepted[1],
                events=events,
                enabled=enabled,
            )

    async def update(
        self,
        channel_id: uuid.UUID,
        *,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
    ) -> Channel:
        """Change what is given (``None``: kept). ``config`` is the new config: a secret
        left out keeps its stored value, one given as ``None`` is removed, and every one
        must be given again when the destination changes. NotFound, ChannelInvalid naming
        every problem, or a Conflict when the name is taken."""
        current = await self.get(channel_id)
        checked = await self.check(
            current.kind, name=name, config=config, events=events, saved=current
        )
        accepted = checked.accepted()
        changes: dict[str, Any] = {}
        for key, value in (("name", name), ("events", events), ("enabled", enabled)):
            if value is not None:
                changes[key] = value
        secrets = None
        if accepted is not None:
            changes["config"], secrets = accepted
        async with self.db.begin() as conn:
            updated = await store.update_channel(
                conn, self.box, channel_id, secrets=secrets, **changes
            )
        if updated is None:
            raise NotFound(f"no channel {channel_id}")
        return updated

    async def delete(self, channel_id: uuid.UUID) -> Channel:
        """The channel removed; its secrets are not opened, so a channel whose key is lost
        can still be removed. NotFound when there is none."""
        channel = await self.get(channel_id, with_secrets=False)
        async with self.db.begin() as conn:
            if not await store.delete_channel(conn, channel_id):
                raise NotFound(f"no channel {channel_id}")
        return channel

    async def send_test(self, kind: str, config: dict[str, Any]) -> ProbeResult:
        """Test Connection with a checked config (:meth:`check`): one fixed message, and
        what the provider answered."""
        return await send_test_message(kind, config, self.deps)

    async def test_saved(self, channel_id: uuid.UUID) -> ProbeResult:
        """Test Connection of a saved channel, with its stored config only."""
        channel = await self.get(channel_id)
        return await self.send_test(channel.kind, channel.full_config)

    async def test_unsaved(self, kind: str, config: dict[str, Any]) -> ProbeResult:
        """Test Connection of a config not saved yet; ChannelInvalid when it is not valid."""
        kind_of(kind)
        checked = await self.check(kind, config=config, for_saving=False)
        public, secret = checked.accepted() or ({}, {})
        return await self.send_test(kind, {**public, **secret})
