"""Single events posted at the same time are stored together, each still on its own terms.

Platforms post events one at a time. Alone, each would cost a transaction of its own (a
checkout, BEGIN, four lookups, two inserts, NOTIFY, COMMIT), most of it spent in the
database driver. Here a request that finds no
group being stored starts one at once (a lone event waits for nothing); requests that
arrive meanwhile form the next group, stored in one transaction with shared lookups.

Each event keeps its own outcome: it is validated and rendered alone (a bad one is its
own 422, the others are stored), a repeated idempotency key gets the first answer, and
if a group's transaction fails its events are tried again one by one, so a failure is
only that event's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from clarion import encoding
from clarion.intake.events import (
    EventInput,
    IntakeConfig,
    Plan,
    merge_plans,
    plan_each,
    store_plan,
)
from clarion.store import Connection
from clarion.store import idempotency as keys
from clarion.store.config_cache import ConfigCache
from clarion.store.db import Database

log = structlog.get_logger("clarion.intake")

# How long a stored answer is returned for a repeated idempotency key.
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# The most events one transaction takes; more wait for the next.
MAX_GROUP = 500

Answer = keys.Answer  # HTTP status and JSON body
Outcome = Answer | Exception


@dataclass(eq=False)
class _Request:
    event: EventInput
    created_by: uuid.UUID | None
    scope: str
    key: str | None
    future: asyncio.Future[Answer] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def ident(self) -> tuple[str, str] | None:
        return (self.scope, self.key) if self.key else None


class SingleEvents:
    """Takes events one at a time; stores them in groups, one group at a time."""

    def __init__(
        self,
        db: Database,
        config: IntakeConfig,
        cache: ConfigCache,
        *,
        max_group: int = MAX_GROUP,
    ):
        self.db = db
        self.config = config
        self.cache = cache
        self.max_group = max_group
        self._waiting: list[_Request] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(
        self,
        event: EventInput,
        *,
        created_by: uuid.UUID | None,
        scope: str,
        key: str | None,
    ) -> Answer:
        """Store ``event`` (or find the answer stored under ``key``): the HTTP status and
        body to answer with. An invalid event raises its IntakeError. Once submitted, the
        event is stored even if the caller goes away."""
        request = _Request(event, created_by, scope, key)
        self._waiting.append(request)
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="clarion-intake")
        return await request.future

    async def submit_batch(
        self,
        events: Sequence[EventInput],
        keys: Sequence[str | None],
        *,
        created_by: uuid.UUID | None,
        scope: str,
    ) -> list[str]:
        """Store a batch of events in one transaction, all or none: each event's answer body.

        An event whose key was seen before (in a batch or alone, or earlier in this batch)
        is answered with the first answer and not stored again. The first invalid event
        raises its IntakeError, named by its index, and nothing is stored.
        """
        requests = [_Request(e, created_by, scope, k) for e, k in zip(events, keys, strict=True)]
        outcomes = await self._store(requests, atomic=True)
        answers = []
        for request in requests:
            outcome = outcomes[request]
            if isinstance(outcome, Exception):  # not reached: atomic raises instead
                raise outcome
            answers.append(outcome[1])
        return answers

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self.max_group]
                del self._waiting[: self.max_group]
                try:
                    outcomes = await self._store_isolated(group)
                except BaseException:  # cancelled: nobody is left waiting forever
                    _stopped(group + self._waiting)
                    self._waiting.clear()
                    raise
                for request in group:
                    outcome = outcomes[request]
                    if request.future.done():  # its caller went away (cancelled)
                        continue
                    if isinstance(outcome, Exception):
                        request.future.set_exception(outcome)
                    else:
                        request.future.set_result(outcome)
        finally:
            # At once, with no await since the loop's last look: a request submitted
            # from now on starts a new drainer.
            self._task = None

    async def _store_isolated(self, group: list[_Request]) -> dict[_Request, Outcome]:
        try:
            return await self._store(group)
        except Exception as exc:
            if len(group) == 1:
                return {group[0]: exc}
            log.warning("intake_group_failed", events=len(group), error=repr(exc))
        outcomes: dict[_Request, Outcome] = {}
        for request in group:
            try:
                outcomes |= await self._store([request])
            except Exception as exc:
                outcomes[request] = exc
        return outcomes

    async def _store(
        self, group: list[_Request], *, atomic: bool = False
    ) -> dict[_Request, Outcome]:
        """One transaction for the group; each request's outcome. ``atomic``: an invalid
        event raises its IntakeError (named by its index in ``group``) and none is stored."""
        leaders: dict[tuple[str, str], _Request] = {}
        for request in group:
            if request.ident:
                leaders.setdefault(request.ident, request)
        # A key repeated within the group: the first request stands for the others.
        todo = [r for r in group if r.ident is None or leaders[r.ident] is r]
        db = self.db
        if db.is_postgres:
            # Planned inside the writing transaction: a second connection for the reads
            # costs more round trips than it saves, and readers do not block writers.
            async with db.begin() as conn:
                await keys.lock_keys(conn, list(leaders))
                outcomes = await _remembered(conn, todo, forget_expired=True)
                valid, refused = await self._plan(
                    conn, [r for r in todo if r not in outcomes], group if atomic else None
                )
                outcomes |= refused | await self._write(conn, valid)
        else:
            # SQLite: read and render before taking its one write lock.
            async with db.read() as conn:
                outcomes = await _remembered(conn, todo, forget_expired=False)
                valid, refused = await self._plan(
                    conn, [r for r in todo if r not in outcomes], group if atomic else None
                )
            outcomes |= refused
            if valid:
                async with db.begin() as conn:
                    # Another process may have stored one of these keys meanwhile.
                    stored = await _remembered(conn, list(valid), forget_expired=True)
                    valid = {r: p for r, p in valid.items() if r not in stored}
                    outcomes |= stored | await self._write(conn, valid)
        if valid:
            db.wake_local()
        for request in group:
            # The rest repeat a leader's key: the leader's outcome is theirs.
            if request not in outcomes and request.ident is not None:
                outcomes[request] = outcomes[leaders[request.ident]]
        return outcomes

    async def _plan(
        self, conn: Connection, requests: list[_Request], atomic: list[_Request] | None
    ) -> tuple[dict[_Request, Plan], dict[_Request, Outcome]]:
        """The requests' plans, and the IntakeErrors of those refused. With ``atomic`` (the
        whole batch), the first refused raises, its fields named by its index there."""
        batch = [(r.event, r.created_by) for r in requests]
        indices = None
        if atomic is not None:
            position = {r: i for i, r in enumerate(atomic)}
            indices = [position[r] for r in requests]
        plans = (
            await plan_each(conn, batch, self.config, self.cache, indices=indices) if batch else []
        )
        valid: dict[_Request, Plan] = {}
        refused: dict[_Request, Outcome] = {}
        for request, plan in zip(requests, plans, strict=True):
            if isinstance(plan, Plan):
                valid[request] = plan
            elif atomic is not None:
                raise plan
            else:
                refused[request] = plan
        return valid, refused

    async def _write(
        self, conn: Connection, valid: dict[_Request, Plan]
    ) -> dict[_Request, Outcome]:
        """Store the plans, and the answers of those with a key; their answers."""
        if not valid:
            return {}
        results = await store_plan(conn, merge_plans(list(valid.values())))
        outcomes: dict[_Request, Outcome] = {}
        remember: list[tuple[keys.Ident, Answer]] = []
        for request, result in zip(valid, results, strict=True):
            answer = (202, encoding.dumps_text(result.to_dict()))
            outcomes[request] = answer
            if request.ident:
                remember.append((request.ident, answer))
        await keys.remember(conn, remember, now=datetime.now(UTC))
        await self.db.notify_dispatch(conn)
        return outcomes


def _stopped(requests: list[_Request]) -> None:
    for request in requests:
        if not request.future.done():
            request.future.set_exception(RuntimeError("intake stopped"))


async def _remembered(
    conn: Connection, requests: Sequence[_Request], *, forget_expired: bool
) -> dict[_Request, Outcome]:
    """The stored answers to earlier requests with these keys, unless expired."""
    idents = {r.ident for r in requests if r.ident}
    if not idents:
        return {}
    since = datetime.now(UTC) - IDEMPOTENCY_WINDOW
    answers = await keys.remembered(conn, idents, since=since, forget_expired=forget_expired)
    return {r: answers[r.ident] for r in requests if r.ident in answers}
