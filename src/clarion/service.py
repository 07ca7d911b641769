"""The running service: database, catalog, senders, dispatcher and housekeeping, together."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from pydantic import SecretStr

from clarion import metrics
from clarion.channels.registry import ChannelDeps
from clarion.channels.resend import RESEND_INTERVAL, ResendSender
from clarion.channels.slack_bot import SlackBotSender
from clarion.config import Settings
from clarion.delivery.http import HttpClient
from clarion.delivery.mail import Composer
from clarion.delivery.outcome import Sender
from clarion.delivery.smtp import SmtpSender, SmtpServer
from clarion.dispatch.dispatcher import Dispatcher
from clarion.dispatch.retry import RetryPolicy
from clarion.dispatch.senders import SenderRegistry
from clarion.domain.accounts import Accounts
from clarion.intake.catalog import BUILTIN_EVENT_TYPES
from clarion.intake.coalesce import IDEMPOTENCY_WINDOW, SingleEvents
from clarion.intake.events import IntakeConfig
from clarion.links import SignedLinks
from clarion.methods.coder_webhook import CoderWebhookSender
from clarion.methods.inbox import InboxSender
from clarion.ratelimit import Limits
from clarion.render.email import Brand
from clarion.secrets import SecretBox, load_keys
from clarion.store.config_cache import ConfigCache
from clarion.store.db import Database
from clarion.store.event_types import sync_builtin_event_types
from clarion.store.idempotency import forget_older
from clarion.store.migrate import migrate
from clarion.store.queue import purge_expired
from clarion.store.sessions import purge_expired_sessions
from clarion.store.settings import is_paused
from clarion.store.stats import queue_counter

log = structlog.get_logger("clarion.service")

HOUSEKEEPING_INTERVAL = 60.0


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class Service:
    """Owns everything with a lifetime; the API reaches the database and settings through it."""

    def __init__(self, settings: Settings, *, dispatch: bool = True):
        self.settings = settings
        self.dispatch = dispatch
        self.db = Database(settings.resolved_database_url)
        self.intake_config = IntakeConfig(
            default_method=settings.method, access_url=settings.resolved_access_url
        )
        self.config_cache = ConfigCache(self.db)
        self.single_events = SingleEvents(self.db, self.intake_config, self.config_cache)
        self.http = HttpClient(
            timeout=settings.dispatch_timeout.total_seconds(),
            allow_private=settings.allow_private_destinations,
        )
        secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
        self.secret_box = SecretBox(load_keys(secret_key, settings.data_dir))
        self.brand = Brand(
            name=settings.email_brand_name,
            logo_url=settings.email_logo_url,
            color=settings.email_brand_color,
        )
        self.accounts = Accounts(self.intake_config, self.config_cache)
        self.links = SignedLinks(self.secret_box, settings.resolved_access_url)
        self.limits = Limits(settings.streams_per_user)
        self.composer = Composer(self.brand, self.links.settings_url, self.links.unsubscribe_url)
        self.smtp = SmtpSender(
            SmtpServer.from_settings(settings), self.composer, settings.email_from
        )
        self.channel_deps = ChannelDeps(http=self.http, mail=self.composer)
        self.resend = ResendSender(
            self.http,
            self.composer,
            api_key=_secret(settings.resend_api_key),
            sender=settings.email_from,
            api_url=settings.resend_api_url,
        )
        self.slack = SlackBotSender(
            self.http, _secret(settings.slack_bot_token), api_url=settings.slack_api_url
        )
        self.dispatchers: list[Dispatcher] = []
        self._tasks: list[asyncio.Task[None]] = []

    def senders(self) -> SenderRegistry:
        methods: dict[str, Sender] = {
            "webhook": CoderWebhookSender(self.http, self.settings.webhook_endpoint),
            "smtp": self.smtp,
            "inbox": InboxSender(),
            "resend": self.resend,
            "slack": self.slack,
        }
        return SenderRegistry(
            methods,
            method_intervals={"resend": RESEND_INTERVAL},
            db=self.db,
            box=self.secret_box,
            deps=self.channel_deps,
        )

    def new_dispatcher(self) -> Dispatcher:
        s = self.settings
        return Dispatcher(
            self.db,
            self.senders(),
            policy=RetryPolicy(max_attempts=s.max_send_attempts, interval=s.retry_interval),
            lease_period=s.lease_period,
            fetch_interval=s.fetch_interval,
            send_timeout=s.dispatch_timeout,
            concurrency=s.dispatch_concurrency,
            batch_size=s.dispatch_batch_size,
        )

    async def start(self) -> None:
        await migrate(self.db)
        await sync_builtin_event_types(self.db, BUILTIN_EVENT_TYPES)
        await self.db.start_listening()
        if self.dispatch:
            dispatcher = self.new_dispatcher()
            self.dispatchers.append(dispatcher)
            self._tasks.append(asyncio.create_task(dispatcher.run(), name="clarion-dispatcher"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="clarion-housekeeping"))

    @property
    def dispatching(self) -> bool:
        """Whether this process's dispatcher is running (not crashed, not stopped)."""
        return any(t.get_name() == "clarion-dispatcher" and not t.done() for t in self._tasks)

    async def stop(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.stop()
        for task in self._tasks:
            if task.get_name() == "clarion-housekeeping":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.http.close()
        await self.smtp.close()
        await self.db.close()

    async def purge(self) -> int:
        """Delete messages past retention and idempotency keys past their window."""
        now = datetime.now(UTC)
        deleted = await purge_expired(self.db, older_than=now - self.settings.retention)
        async with self.db.begin() as conn:
            await forget_older(conn, now - IDEMPOTENCY_WINDOW)
            await purge_expired_sessions(conn, now)
        if deleted:
            log.info("purged messages past retention", count=deleted)
        return deleted

    async def refresh_queue_metrics(self) -> None:
        """Set the queue gauges for a scrape: cheap enough to run on every one.

        Unfinished messages are counted through the claimable index each time; the finished
        statuses are recounted at most every 30 seconds (see :mod:`clarion.store.stats`).
        """
        snapshot = await queue_counter(self.db).snapshot()
        for status, count in snapshot.by_status.items():
            metrics.QUEUE_DEPTH.labels(status).set(count)
        metrics.OLDEST_PENDING.set(snapshot.oldest_pending_age(datetime.now(UTC)) or 0)
        # Read here too: a replica that only serves the API (or a dispatcher asleep until
        # its next poll) would otherwise report a stale kill switch.
        metrics.PAUSED.set(1 if await is_paused(self.db) else 0)

    async def _housekeeping(self) -> None:
        while True:
            try:
                await self.purge()
            except Exception:
                log.exception("retention purge failed; will try again")
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
