"""Which sender delivers a claimed message: the user method's, or its channel's.

Channel senders are built from the channel's stored (decrypted) config and kept until the
channel changes; each claimed batch looks its channels up in one query.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from clarion.channels.registry import ChannelConfigError, ChannelDeps, build_sender, min_interval
from clarion.delivery.outcome import Failed, Outbound, Outcome, Retry, Sender
from clarion.secrets import SecretBox, SecretsError
from clarion.store.channels import channels_by_ids
from clarion.store.db import Database
from clarion.store.queue import ClaimedMessage


class _Refuse:
    """Stands in for a channel that cannot send (deleted, disabled, invalid config), or
    cannot yet (``retry``: its secrets need a key this process lacks)."""

    def __init__(self, reason: str, *, retry: bool = False):
        self.reason = reason
        self.retry = retry

    async def send(self, message: Outbound) -> Outcome:
        return Retry(self.reason) if self.retry else Failed(self.reason)


class SenderRegistry:
    def __init__(
        self,
        methods: Mapping[str, Sender],
        *,
        method_intervals: Mapping[str, float] | None = None,
        db: Database | None = None,
        box: SecretBox | None = None,
        deps: ChannelDeps | None = None,
    ):
        self.methods = dict(methods)
        self.method_intervals = dict(method_intervals or {})
        self.db = db
        self.box = box
        self.deps = deps
        self._channels: dict[uuid.UUID, tuple[datetime, Sender, float]] = {}
        self._current: dict[uuid.UUID, tuple[Sender, float]] = {}

    async def prepare(self, batch: Sequence[ClaimedMessage]) -> None:
        """Load (or refresh) the senders of the channels this batch goes to."""
        ids = {m.channel_id for m in batch if m.channel_id is not None}
        if not ids or self.db is None or self.box is None or self.deps is None:
            return
        async with self.db.read() as conn:
            found = await channels_by_ids(conn, self.box, ids)
        for channel_id in ids:
            channel = found.get(channel_id)
            if channel is None:
                self._current[channel_id] = (_Refuse("the channel was deleted"), 0.0)
                continue
            if isinstance(channel, SecretsError):
                reason = f"the channel's secrets cannot be read: {channel}"
                self._current[channel_id] = (_Refuse(reason, retry=True), 0.0)
                continue
            if not channel.enabled:
                refuse = _Refuse(f"channel {channel.name!r} is disabled")
                self._current[channel_id] = (refuse, 0.0)
                continue
            cached = self._channels.get(channel_id)
            if cached is None or cached[0] != channel.updated_at:
                interval = 0.0
                try:
                    sender: Sender = build_sender(channel.kind, channel.full_config, self.deps)
                    interval = min_interval(channel.kind, channel.full_config)
                except (ChannelConfigError, ValueError) as exc:
                    sender = _Refuse(f"channel {channel.name!r} has an invalid config: {exc}")
                if cached is not None:
                    _close_later(cached[1])
                cached = (channel.updated_at, sender, interval)
                self._channels[channel_id] = cached
            self._current[channel_id] = (cached[1], cached[2])

    def for_message(self, message: ClaimedMessage) -> Sender | None:
        if message.channel_id is not None:
            found = self._current.get(message.channel_id)
            return found[0] if found else None
        return self.methods.get(message.method)

    def interval(self, message: ClaimedMessage) -> float:
        """The pace of the message's destination, in seconds between messages (0: none)."""
        if message.channel_id is None:
            return self.method_intervals.get(message.method, 0.0)
        found = self._current.get(message.channel_id)
        return found[1] if found else 0.0

    @staticmethod
    def destination(message: ClaimedMessage) -> str:
        """What a pace applies to: the channel, or the whole method (one API account)."""
        return str(message.channel_id) if message.channel_id else f"method:{message.method}"

    async def close(self) -> None:
        """Close channel senders holding connections (SMTP pools)."""
        for _, sender, _ in self._channels.values():
            await _close(sender)
        self._channels.clear()


async def _close(sender: Sender) -> None:
    close = getattr(sender, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


def _close_later(sender: Sender) -> None:
    """A replaced sender's connections are closed in the background."""
    if getattr(sender, "close", None) is not None:
        task = asyncio.get_running_loop().create_task(_close(sender))
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Task[None]] = set()
