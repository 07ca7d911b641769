"""The dispatcher: claim due messages in batches, send concurrently, record outcomes in batches.

``concurrency`` long-lived workers take claimed messages from a local buffer, which the
claim loop refills with one query whenever it falls below half a batch: claims stay large
in steady state, instead of one small claim per finished send.

It sleeps until woken: by a new message (in-process signal, or PostgreSQL NOTIFY from
another replica), by the next retry coming due, or at the latest by the fallback poll
(``CLARION_FETCH_INTERVAL``). While delivery is paused it claims nothing and hands back the
messages it holds. On stop, the sends in flight finish and buffered messages not yet started
are released unsent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from clarion import metrics
from clarion.delivery.outcome import (
    Defer,
    Delivered,
    Failed,
    Outbound,
    Outcome,
    Recipient,
    Retry,
    Sender,
)
from clarion.dispatch.pacing import Pacer
from clarion.dispatch.retry import RetryPolicy, decide
from clarion.dispatch.senders import SenderRegistry
from clarion.render import Rendered
from clarion.store.channels import disable_gone_channel
from clarion.store.db import Database
from clarion.store.queue import ClaimedMessage, Completion, claim_due_messages, complete_messages
from clarion.store.settings import is_paused
from clarion.store.tables import PENDING, PERMANENT_FAILURE, SENT

log = structlog.get_logger("clarion.dispatch")

# How long finished sends wait to be written together (one transaction per batch).
COMPLETION_FLUSH_DELAY = 0.01
# How often a busy dispatcher reads the kill switch (a pause on this replica, or a NOTIFY
# from another, wakes it at once).
PAUSE_RECHECK = 1.0
# Room left between a send's time limit and the end of its lease (at most; see __init__).
LEASE_MARGIN = timedelta(seconds=5)
# How long a stopping dispatcher waits for the outcomes being written.
COMPLETER_CLOSE_TIMEOUT = 30.0


def _outcome_name(outcome: Outcome) -> str:
    names = {Delivered: "delivered", Retry: "retry", Failed: "failed", Defer: "deferred"}
    return names[type(outcome)]


class Dispatcher:
    def __init__(
        self,
        db: Database,
        senders: SenderRegistry,
        *,
        policy: RetryPolicy,
        lease_period: timedelta,
        fetch_interval: timedelta,
        send_timeout: timedelta,
        concurrency: int = 64,
        batch_size: int = 100,
    ):
        self.db = db
        self.senders = senders
        self.policy = policy
        self.lease_period = lease_period
        self.fetch_interval = fetch_interval.total_seconds()
        self.send_timeout = send_timeout.total_seconds()
        # A send must end this long before its lease does, so that its outcome is written
        # (batched, after a flush delay) before another replica may claim the message.
        margin = min(LEASE_MARGIN, (lease_period - send_timeout) / 2)
        self._send_time_limit = send_timeout + max(margin, timedelta(0))
        self.concurrency = concurrency
        self.batch_size = batch_size
        # Claimed messages waiting for a worker; None tells a worker to stop.
        self._ready: asyncio.Queue[ClaimedMessage | None] = asyncio.Queue()
        self._low_water = max(batch_size // 2, 1)
        self._paused_value = False
        self._paused_read_at = -PAUSE_RECHECK
        self._config_seen = -1
        self._completions: list[tuple[Completion, ClaimedMessage]] = []
        self._completions_ready = asyncio.Event()
        self._completer_closing = False
        self._gone_channels: dict[uuid.UUID, str] = {}
        self._stopping = asyncio.Event()
        self._pacer = Pacer()
        # The earliest retry written since the claim loop last went to sleep, and when that
        # sleep ends (monotonic; None while awake).
        self._retry_due: datetime | None = None
        self._sleep_ends: float | None = None

    # --- the claim loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Dispatch until :meth:`stop`; then finish the sends in flight and record them."""
        completer = asyncio.create_task(self._complete_forever(), name="clarion-completer")
        workers = [
            asyncio.create_task(self._work(), name=f"clarion-sender-{i}")
            for i in range(self.concurrency)
        ]
        try:
            while not self._stopping.is_set():
                try:
                    await self._step()
                except Exception:
                    log.exception("dispatch loop failed; retrying after the fetch interval")
                    await self._sleep(self.fetch_interval)
        finally:
            self._release_unstarted("the dispatcher stopped")
            for _ in workers:
                self._ready.put_nowait(None)
            _, unfinished = await asyncio.wait(workers, timeout=self.send_timeout + 1)
            for worker in unfinished:  # their leases expire and another dispatcher resends
                worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*unfinished)
            # Not cancelled: a batch it is writing would be lost (sent, yet left leased).
            self._completer_closing = True
            self._completions_ready.set()
            with contextlib.suppress(TimeoutError):  # the database may be gone
                await asyncio.wait_for(completer, COMPLETER_CLOSE_TIMEOUT)
            await self._flush_completions()
            await self.senders.close()

    def stop(self) -> None:
        self._stopping.set()
        self.db.wake_local()

    async def _step(self) -> None:
        self.db.wakeup.clear()
        if await self._paused():
            metrics.PAUSED.set(1)
            self._release_unstarted("delivery is paused")
            await self._sleep(self.fetch_interval)
            return
        metrics.PAUSED.set(0)
        buffered = self._ready.qsize()
        if buffered >= self._low_water:
            # Until the workers drain the buffer to half a batch (they wake this loop), a
            # new message or setting, or the time to look at the kill switch again.
            await self._sleep(PAUSE_RECHECK)
            return
        limit = self.batch_size - buffered
        now = datetime.now(UTC)
        claim = await claim_due_messages(
            self.db, limit=limit, lease_period=self.lease_period, now=now
        )
        claimed = claim.messages
        if claimed:
            try:
                await self.senders.prepare(claimed)
            except Exception:  # e.g. the database went away: give the claim back, not wait
                now = datetime.now(UTC)
                for message in claimed:
                    self._release(message, "its channel could not be loaded", now)
                raise
        for message in claimed:
            self._ready.put_nowait(message)
        if len(claimed) < limit:
            await self._sleep(self._idle_timeout(claim.next_due))

    async def _paused(self) -> bool:
        """The kill switch, read again when configuration changed (here or, by NOTIFY or the
        SQLite file's change counter, elsewhere) or after PAUSE_RECHECK; not for every new
        message, which would cost a query a wake-up."""
        clock = time.monotonic()
        generation = self.db.config_generation
        if generation != self._config_seen or clock - self._paused_read_at >= PAUSE_RECHECK:
            self._config_seen = generation
            self._paused_value = await is_paused(self.db)
            self._paused_read_at = clock
        return self._paused_value

    def _idle_timeout(self, due: datetime | None) -> float:
        if due is None:
            return self.fetch_interval
        wait = (due - datetime.now(UTC)).total_seconds()
        return max(0.0, min(self.fetch_interval, wait))

    async def _sleep(self, seconds: float) -> None:
        """Sleep until woken by a new message, a stop, or ``seconds``."""
        if self._retry_due is not None:
            # Written after the claim read when the queue is next due.
            seconds = min(seconds, (self._retry_due - datetime.now(UTC)).total_seconds())
            self._retry_due = None
        if seconds <= 0 or self._stopping.is_set():
            return
        self._sleep_ends = time.monotonic() + seconds
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.db.wakeup.wait(), seconds)
        finally:
            self._sleep_ends = None

    async def _work(self) -> None:
        while (message := await self._ready.get()) is not None:
            if self._ready.qsize() == self._low_water - 1:  # just fell below half a batch
                self.db.wake_local()
            now = datetime.now(UTC)
            if now + self._send_time_limit >= message.leased_until:
                # Waited in the buffer so long that the lease could end mid-send, and another
                # dispatcher would send it too: hand it back instead.
                self._release(message, "its lease would end before a send could finish", now)
                continue
            try:
                await self._deliver(message)
            except Exception:  # a bug in recording must not stop the worker; the lease holds
                log.exception("delivering a message failed", message_id=str(message.id))

    def _release_unstarted(self, why: str) -> None:
        """Hand back the buffered messages (claimed, not started)."""
        now = datetime.now(UTC)
        for _ in range(self._ready.qsize()):
            message = self._ready.get_nowait()
            if message is not None:
                self._release(message, why, now)

    def _release(self, message: ClaimedMessage, why: str, now: datetime) -> None:
        """Pending again at once, the claim not counted as an attempt."""
        release = Completion(
            message_id=message.id,
            lease_id=message.lease_id,
            attempt=message.attempt_count,
            status=PENDING,
            reason=None,
            next_retry_after=now,
            started_at=now,
            finished_at=now,
            outcome="deferred",
            detail=f"released unsent: {why}",
            counted=False,
        )
        self._completions.append((release, message))
        self._completions_ready.set()

    # --- one send --------------------------------------------------------------------------

    async def _deliver(self, message: ClaimedMessage) -> None:
        started = datetime.now(UTC)
        if message.attempt_count == 1:
            waited = (started - message.created_at).total_seconds()
            metrics.queued_seconds(message.method).observe(max(waited, 0.0))
        in_flight = metrics.inflight(message.method)
        in_flight.inc()
        clock = time.perf_counter()
        try:
            outcome = await self._attempt(message)
        finally:
            in_flight.dec()
        elapsed = time.perf_counter() - clock
        finished = datetime.now(UTC)
        transition = decide(outcome, message.attempt_count, self.policy, finished)
        if not isinstance(outcome, Defer):  # a deferred message was not sent: nothing to time
            metrics.dispatch_seconds(message.method).observe(elapsed)
        detail = getattr(outcome, "reason", None) or getattr(outcome, "detail", None)
        completion = Completion(
            message_id=message.id,
            lease_id=message.lease_id,
            attempt=message.attempt_count,
            status=transition.status,
            reason=transition.reason,
            next_retry_after=transition.next_retry_after,
            started_at=started,
            finished_at=finished,
            outcome=_outcome_name(outcome),
            detail=detail,
            counted=not isinstance(outcome, Defer),
        )
        if isinstance(outcome, Failed) and outcome.gone and message.channel_id is not None:
            self._gone_channels[message.channel_id] = outcome.reason
        self._completions.append((completion, message))
        self._completions_ready.set()

    async def _attempt(self, message: ClaimedMessage) -> Outcome:
        if message.attempt_count > self.policy.max_attempts:
            # Claimed again after leases expired mid-send (the process died each time).
            return Failed(
                f"gave up after {message.attempt_count - 1} attempts whose lease expired "
                "before the send finished"
            )
        sender = self.senders.for_message(message)
        if sender is None:
            return Failed(f"no sender for method {message.method!r} (unknown channel kind?)")
        interval = self.senders.interval(message)
        if interval <= 0:
            return await self._send(sender, message)
        destination = self.senders.destination(message)
        wait = self._pacer.wait_for(destination, str(message.id), interval)
        if wait > 0:
            return Defer(f"waiting {wait:.1f}s for the channel's rate limit", after=wait)
        try:
            return await self._send(sender, message)
        finally:
            self._pacer.sent(destination)

    async def _send(self, sender: Sender, message: ClaimedMessage) -> Outcome:
        try:
            async with asyncio.timeout(self.send_timeout):  # no extra task, unlike wait_for
                return await sender.send(_outbound(message))
        except TimeoutError:
            return Retry(
                f"send did not finish within CLARION_DISPATCH_TIMEOUT ({self.send_timeout:g}s)"
            )
        except Exception as exc:
            log.exception("sender raised", message_id=str(message.id), method=message.method)
            # The class only: the exception's text may quote a config or URL with secrets;
            # the logged traceback has the rest.
            name = type(exc).__name__
            return Retry(f"internal error in the {message.method} sender ({name}); see the log")

    # --- recording outcomes ----------------------------------------------------------------

    async def _complete_forever(self) -> None:
        """Write outcomes in batches until the dispatcher closes it (after its last sends)."""
        while not self._completer_closing:
            await self._completions_ready.wait()
            if not self._completer_closing:
                await asyncio.sleep(COMPLETION_FLUSH_DELAY)
            try:
                await self._flush_completions()
            except Exception:
                # The rows stay leased; we keep the outcomes and try again shortly.
                log.exception("recording delivery outcomes failed; will retry")
                if not self._completer_closing:
                    await asyncio.sleep(1)

    async def _flush_completions(self) -> None:
        batch, self._completions = self._completions, []
        self._completions_ready.clear()
        if not batch:
            return
        inbox_users = {
            str(message.user_id)
            for completion, message in batch
            if completion.status == SENT and message.method == "inbox" and message.user_id
        }
        try:
            await complete_messages(self.db, [c for c, _ in batch], inbox_users=inbox_users)
        except BaseException:  # cancelled too: kept for the next try, not lost
            self._completions[:0] = batch
            self._completions_ready.set()
            raise
        for completion, message in batch:
            self._observe(completion, message)
        self._note_retries(batch)
        if inbox_users:
            self.db.publish_inbox_local(inbox_users)
        if self._gone_channels:
            await self._disable_gone_channels()

    def _note_retries(self, batch: list[tuple[Completion, ClaimedMessage]]) -> None:
        """Make the claim loop look again when the earliest retry just written comes due.

        It sleeps until the queue's earliest due row, and for a message being sent that was
        its lease's end: without this, a retry would wait for the lease, not its own time.
        """
        dues = [c.next_retry_after for c, _ in batch if c.status != SENT and c.next_retry_after]
        if not dues:
            return
        due = min(dues)
        if self._retry_due is None or due < self._retry_due:
            self._retry_due = due
        wait = (due - datetime.now(UTC)).total_seconds()
        if self._sleep_ends is not None and time.monotonic() + wait < self._sleep_ends:
            self.db.wake_local()  # it reads the queue's next due time again, now written

    async def _disable_gone_channels(self) -> None:
        gone, self._gone_channels = self._gone_channels, {}
        async with self.db.begin() as conn:
            for channel_id, reason in gone.items():
                if await disable_gone_channel(conn, channel_id, reason):
                    log.warning("channel disabled", channel_id=str(channel_id), reason=reason)

    def _observe(self, completion: Completion, message: ClaimedMessage) -> None:
        """Count the attempt and log it: one line per delivered, retried or failed send."""
        if completion.outcome == "deferred":
            return
        if completion.status == SENT:
            result = metrics.SENT
        elif completion.status == PERMANENT_FAILURE:
            result = metrics.FAILED
        else:
            result = metrics.RETRIED
        metrics.deliveries(message.method, message.event_type, result).inc()
        fields: dict[str, Any] = {
            "message_id": str(message.id),
            "event_type": message.event_type,
            "method": message.method,
            "recipient": message.recipient,
            "attempt": completion.attempt,
            "status": completion.status,
            "result": result,
            "duration_ms": round(
                (completion.finished_at - completion.started_at).total_seconds() * 1000, 1
            ),
        }
        if message.channel_id is not None:
            # The channel's name is the recipient; its kind comes from the method as stored.
            fields["channel_id"] = str(message.channel_id)
            fields["channel_kind"] = message.method.removeprefix(metrics.CHANNEL_PREFIX)
        if result == metrics.SENT:
            latency = (completion.finished_at - message.created_at).total_seconds()
            metrics.delivery_latency(message.method).observe(latency)
            log.info("notification delivered", latency_seconds=round(latency, 3), **fields)
        elif result == metrics.RETRIED:
            retry_at = (
                completion.next_retry_after.isoformat() if completion.next_retry_after else None
            )
            log.warning(
                "notification delivery will be retried",
                reason=completion.reason,
                retry_at=retry_at,
                **fields,
            )
        else:
            log.warning("notification delivery failed", reason=completion.reason, **fields)


def _outbound(message: ClaimedMessage) -> Outbound:
    payload = message.payload
    return Outbound(
        message_id=str(message.id),
        event_type=message.event_type,
        template_id=str(payload.get("notification_template_id", "")),
        template_name=str(payload.get("notification_name", "")),
        recipient=Recipient(
            user_id=str(payload.get("user_id") or ""),
            email=str(payload.get("user_email") or ""),
            name=str(payload.get("user_name") or ""),
            username=str(payload.get("user_username") or ""),
        ),
        content=Rendered.from_dict(message.content),
        payload=payload,
        attempt=message.attempt_count,
    )
