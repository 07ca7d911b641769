"""Team channels' rules, asked directly: the name, the events, the config and its
destination, secrets that stay with their destination, and Test Connection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from cryptography.fernet import Fernet, MultiFernet

from clarion.channels.registry import ChannelDeps
from clarion.delivery.http import HttpClient
from clarion.delivery.mail import Composer
from clarion.domain.channels import ChannelInvalid, Channels
from clarion.errors import Conflict, Invalid, NotFound
from clarion.intake.catalog import BUILTIN_EVENT_TYPES
from clarion.render.email import Brand
from clarion.secrets import SecretBox
from clarion.store.db import Database
from clarion.store.event_types import sync_builtin_event_types
from tests.fakes.sink import HttpSink

TOKEN = "AgotifyTokenXYZ"


class RecordingResolver:
    """Answers every name with one address, and records what was asked."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        return [self.address]


def _box() -> SecretBox:
    return SecretBox(MultiFernet([Fernet(Fernet.generate_key())]))


def _deps(http: HttpClient) -> ChannelDeps:
    return ChannelDeps(http=http, mail=Composer(Brand(), lambda user_id: ""))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await sync_builtin_event_types(database, BUILTIN_EVENT_TYPES)
    yield database
    await database.close()


@pytest.fixture
async def channels(db: Database) -> AsyncIterator[Channels]:
    http = HttpClient(timeout=5, allow_private=True)  # the fakes listen on loopback
    yield Channels(db, _box(), _deps(http))
    await http.close()


@pytest.fixture
async def sink() -> AsyncIterator[HttpSink]:
    receiver = await HttpSink().start()
    yield receiver
    await receiver.stop()


def _gotify(url: str, **extra: Any) -> dict[str, Any]:
    return {"server_url": url, "app_token": TOKEN, "priority": 5, **extra}


async def test_a_taken_name_is_a_conflict_naming_it(channels: Channels, sink: HttpSink) -> None:
    first = await channels.create(
        name="phones", kind="gotify", config=_gotify(sink.url), events=[], enabled=True
    )
    with pytest.raises(Conflict, match="'phones' already exists"):
        await channels.create(
            name="phones", kind="gotify", config=_gotify(sink.url), events=[], enabled=True
        )
    other = await channels.create(
        name="tablets", kind="gotify", config=_gotify(sink.url), events=[], enabled=True
    )
    with pytest.raises(Conflict, match="'phones' already exists"):
        await channels.update(other.id, name="phones")
    assert [c.name for c in await channels.list_all()] == ["phones", "tablets"]
    assert (await channels.get(first.id)).secrets == {"app_token": TOKEN}


async def test_every_problem_is_named_at_once(channels: Channels, sink: HttpSink) -> None:
    with pytest.raises(ChannelInvalid) as refused:
        await channels.create(
            name=" ",
            kind="gotify",
            config={"server_url": sink.url, "priority": 11},
            events=["deploy_failed", "no_such_event"],
            enabled=True,
        )
    fields = [p.field for p in refused.value.problems]
    assert fields == ["name", "events", "config.app_token", "config.priority"]
    assert "no_such_event" in str(refused.value) and "deploy_failed" not in str(refused.value)
    assert refused.value.field == "name"
    assert await channels.list_all() == []


async def test_a_long_name_is_refused_as_the_api_refuses_it(channels: Channels) -> None:
    checked = await channels.check("gotify", name="n" * 201)
    assert [str(p) for p in checked.problems] == ["name: at most 200 characters"]
    assert (await channels.check("gotify", name="n" * 200)).problems == []


async def test_an_unknown_event_is_invalid_naming_events(
    channels: Channels, sink: HttpSink
) -> None:
    saved = await channels.create(
        name="phones", kind="gotify", config=_gotify(sink.url), events=[], enabled=True
    )
    with pytest.raises(Invalid) as refused:
        await channels.update(saved.id, events=["deploy_failed", "nope"])
    assert refused.value.field == "events" and "nope" in str(refused.value)
    updated = await channels.update(saved.id, events=["deploy_failed", "deploy_failed"])
    assert updated.events == ["deploy_failed"]


async def test_an_unknown_kind_is_invalid_naming_kind(channels: Channels) -> None:
    with pytest.raises(Invalid) as refused:
        await channels.test_unsaved("pager", {})
    assert refused.value.field == "kind"


async def test_a_stored_secret_is_never_sent_somewhere_new(
    channels: Channels, sink: HttpSink
) -> None:
    saved = await channels.create(
        name="phones", kind="gotify", config=_gotify(sink.url), events=[], enabled=True
    )
    kept = await channels.update(saved.id, config={"server_url": sink.url, "priority": 8})
    assert kept.secrets == {"app_token": TOKEN} and kept.config["priority"] == 8

    with pytest.raises(ChannelInvalid) as refused:
        await channels.update(saved.id, config={"server_url": "http://127.0.0.1:9/elsewhere"})
    assert refused.value.field == "config.app_token"
    assert TOKEN not in str(refused.value)
    assert (await channels.get(saved.id)).config["server_url"] == sink.url

    moved = await channels.update(
        saved.id, config={"server_url": "http://127.0.0.1:9/elsewhere", "app_token": "Anew"}
    )
    assert moved.secrets == {"app_token": "Anew"}


async def test_the_destination_is_checked_before_saving(db: Database) -> None:
    resolver = RecordingResolver("10.1.2.3")
    http = HttpClient(timeout=5, allow_private=False, resolve=resolver)
    channels = Channels(db, _box(), _deps(http))
    config = {
        "smtp_server": "mail.internal.test",
        "from_address": "alerts@example.com",
        "to_addresses": ["team@example.com"],
    }
    try:
        with pytest.raises(Invalid) as refused:
            await channels.create(name="team", kind="email", config=config, events=[], enabled=True)
        assert refused.value.field == "config.smtp_server"
        assert resolver.asked == ["mail.internal.test"]  # refused at the lookup, before a connect
        assert await channels.list_all() == []
        # A check for a test send leaves the destination to the sender's own guard.
        checked = await channels.check("email", config=config, for_saving=False)
        assert checked.problems == [] and resolver.asked == ["mail.internal.test"]
    finally:
        await http.close()


async def test_test_connection_uses_the_saved_config_or_the_given_one(
    channels: Channels, sink: HttpSink
) -> None:
    saved = await channels.create(
        name="phones", kind="gotify", config=_gotify(sink.url), events=[], enabled=True
    )
    result = await channels.test_saved(saved.id)
    assert result.ok, result.detail
    assert [r.headers["X-Gotify-Key"] for r in sink.received] == [TOKEN]

    result = await channels.test_unsaved("gotify", _gotify(sink.url, app_token="Aother"))
    assert result.ok, result.detail
    assert sink.received[-1].headers["X-Gotify-Key"] == "Aother"
    with pytest.raises(ChannelInvalid) as refused:
        await channels.test_unsaved("gotify", {"server_url": sink.url})
    assert refused.value.field == "config.app_token" and len(sink.received) == 2


async def test_a_channel_whose_secrets_cannot_be_opened_can_still_be_removed(
    db: Database, channels: Channels, sink: HttpSink
) -> None:
    saved = await channels.create(
        name="phones", kind="gotify", config=_gotify(sink.url), events=[], enabled=True
    )
    key_lost = Channels(db, _box(), channels.deps)
    with pytest.raises(Conflict, match="Remove the channel"):
        await key_lost.get(saved.id)
    assert [c.name for c in await key_lost.list_all(with_secrets=False)] == ["phones"]
    removed = await key_lost.delete(saved.id)
    assert removed.name == "phones" and await channels.list_all() == []


async def test_a_missing_channel_is_not_found(channels: Channels) -> None:
    missing = uuid.uuid4()
    for attempt in (
        channels.get(missing),
        channels.update(missing, enabled=False),
        channels.delete(missing),
        channels.test_saved(missing),
    ):
        with pytest.raises(NotFound):
            await attempt
