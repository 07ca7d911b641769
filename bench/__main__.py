"""``make bench``: clarion against the machine's ceiling and its peer, medians of 3 runs.

Measures, each against the same local sink (its own process, aiohttp + uvloop, 204):
the raw aiohttp POST ceiling; clarion end to end (events posted through the API,
delivered to the sink) on PostgreSQL and SQLite with 1 and 2 dispatcher processes;
Apprise ``json://``; enqueue→delivered latency at 50 events/s; claim time with 10 k and
1 M queued; server RSS with 100 k queued; SMTP messages/s to a local aiosmtpd.
The ceiling, the end-to-end runs and Apprise are measured in interleaved rounds and their
ratios taken within each round. Writes ``bench/results.json`` and ``bench/results.md``.
``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).parent
PG_ADMIN = os.environ.get("CLARION_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "bench-admin-token"
RESULTS: list[dict[str, Any]] = []


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_http(url: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, str(HERE / "sink.py"), str(self.port)])

    async def reset(self, session: aiohttp.ClientSession, record: bool = False) -> None:
        async with session.post(f"{self.url}/reset", params={"record": "1" if record else "0"}):
            pass

    async def stats(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.url}/stats") as response:
            return dict(await response.json())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


class Database:
    """A throwaway database: a SQLite file or a PostgreSQL database, dropped afterwards."""

    def __init__(self, engine: str):
        self.engine = engine
        if engine == "sqlite":
            self.dir = tempfile.mkdtemp(prefix="clarion-bench-")
            self.url = f"sqlite:///{self.dir}/bench.db"
        else:
            self.name = f"clarion_bench_{secrets.token_hex(4)}"
            self.url = PG_ADMIN.rsplit("/", 1)[0] + f"/{self.name}"

    async def __aenter__(self) -> Database:
        if self.engine == "postgres":
            await _pg(f'CREATE DATABASE "{self.name}"')
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.engine == "postgres":
            await _pg(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            await asyncio.to_thread(shutil.rmtree, self.dir, ignore_errors=True)


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


class Servers:
    """``count`` clarion server processes on one database (each runs a dispatcher)."""

    def __init__(self, db_url: str, sink: Sink, count: int, data_dir: str, **env: str):
        self.procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []
        base = {
            **os.environ,
            "CLARION_DATABASE_URL": db_url,
            "CLARION_DATA_DIR": data_dir,
            "CLARION_ADMIN_TOKEN": TOKEN,
            "CLARION_METHOD": "webhook",
            "CLARION_WEBHOOK_ENDPOINT": f"{sink.url}/hook",
            "CLARION_ALLOW_PRIVATE_DESTINATIONS": "true",
            "CLARION_LOG_FORMAT": "json",
            "CLARION_MAX_SEND_ATTEMPTS": "1",
            **env,
        }
        for _ in range(count):
            port = free_port()
            self.urls.append(f"http://127.0.0.1:{port}")
            self.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "clarion",
                        "server",
                        "--http-address",
                        f"127.0.0.1:{port}",
                    ],
                    env=base,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    async def start(self) -> Servers:
        for url in self.urls:
            await wait_http(url + "/healthz")
        return self

    def rss_mb(self) -> float:
        with open(f"/proc/{self.procs[0].pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=60)


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def _create_user(session: aiohttp.ClientSession, url: str) -> None:
    body = {"email": "bench@example.com", "username": "bench", "roles": ["member"]}
    async with session.post(f"{url}/api/v1/users", json=body, headers=_headers()) as r:
        assert r.status in (201, 409), await r.text()


def _event(i: int, run: str) -> dict[str, Any]:
    return {
        "type": "workspace_deleted",
        "user_email": "bench@example.com",
        "labels": {"name": f"ws-{run}-{i}", "reason": "benchmark", "initiator": "autobuild"},
    }


async def _pause(session: aiohttp.ClientSession, url: str, paused: bool) -> None:
    """The kill switch, through the API."""
    async with session.put(
        f"{url}/api/v1/notifications/settings", json={"paused": paused}, headers=_headers()
    ) as r:
        assert r.status == 200, await r.text()


async def _post_batches(session: aiohttp.ClientSession, urls: list[str], n: int, run: str) -> None:
    """``n`` events in batches of 500, 4 requests in flight, spread over the servers' APIs
    in turn, as a load balancer in front of the replicas would."""
    batches = [[_event(i, run) for i in range(s, min(n, s + 500))] for s in range(0, n, 500)]
    limit = asyncio.Semaphore(4)

    async def post(url: str, batch: list[dict[str, Any]]) -> None:
        async with (
            limit,
            session.post(
                f"{url}/api/v1/events/batch", json={"events": batch}, headers=_headers()
            ) as r,
        ):
            assert r.status == 202, await r.text()

    await asyncio.gather(*(post(urls[i % len(urls)], b) for i, b in enumerate(batches)))


async def _wait_count(session: aiohttp.ClientSession, sink: Sink, n: int, within: float) -> float:
    deadline = time.monotonic() + within
    while True:
        if (await sink.stats(session))["count"] >= n:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {(await sink.stats(session))['count']} of {n} delivered")
        await asyncio.sleep(0.02)


# --- the measurements -------------------------------------------------------------------------


async def ceiling(sink: Sink, n: int) -> float:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        payload = json.dumps({"x": "y" * 1000}).encode()
        queue = iter(range(n))

        async def worker() -> None:
            for _ in queue:
                async with session.post(f"{sink.url}/hook", data=payload) as r:
                    await r.read()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        return n / (time.perf_counter() - start)


async def end_to_end(sink: Sink, engine: str, processes: int, n: int) -> float:
    async with Database(engine) as db, aiohttp.ClientSession() as session:
        data_dir = tempfile.mkdtemp(prefix="clarion-bench-data-")
        servers = await Servers(db.url, sink, processes, data_dir).start()
        try:
            await _create_user(session, servers.urls[0])
            await sink.reset(session)
            start = time.perf_counter()
            await _post_batches(session, servers.urls, n, uuid.uuid4().hex[:6])
            done = await _wait_count(session, sink, n, within=600)
            return n / (done - start)
        finally:
            servers.stop()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> float:
    """CPU time so far of every PostgreSQL server process (backends and background)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() == "postgres":
                    total += _cpu_seconds(int(pid))
        except OSError:  # gone meanwhile
            pass
    return total


async def split(sink: Sink, engine: str, processes: int, n: int) -> None:
    """Where the CPU goes: intake alone (delivery paused), then delivery alone (resumed),
    each with its rate and the CPU time per message of each clarion process, PostgreSQL
    and the sink. For working on throughput; nothing is recorded."""
    async with Database(engine) as db, aiohttp.ClientSession() as session:
        data_dir = tempfile.mkdtemp(prefix="clarion-bench-data-")
        servers = await Servers(db.url, sink, processes, data_dir).start()
        pids = [proc.pid for proc in servers.procs] + [sink.proc.pid]

        def cpu() -> list[float]:
            return [_cpu_seconds(pid) for pid in pids] + [_postgres_cpu_seconds()]

        def show(phase: str, rate: float, before: list[float], after: list[float]) -> None:
            each = [round((b - a) / n * 1e6) for a, b in zip(before, after, strict=True)]
            print(
                f"{engine}, {processes} process(es), {phase}: {rate:,.0f}/s; CPU µs a message: "
                f"clarion {each[:-2]}, sink {each[-2]}, PostgreSQL {each[-1]}",
                flush=True,
            )

        try:
            await _create_user(session, servers.urls[0])
            await _pause(session, servers.urls[0], True)
            await asyncio.sleep(1.5)  # every dispatcher has heard (PAUSE_RECHECK)
            await sink.reset(session)
            before, start = cpu(), time.perf_counter()
            await _post_batches(session, servers.urls, n, uuid.uuid4().hex[:6])
            show("intake", n / (time.perf_counter() - start), before, cpu())
            before, start = cpu(), time.perf_counter()
            await _pause(session, servers.urls[0], False)
            done = await _wait_count(session, sink, n, within=600)
            show("delivery", n / (done - start), before, cpu())
        finally:
            servers.stop()


def apprise_rate(sink: Sink, n: int) -> float:
    import apprise

    notifier = apprise.Apprise()
    notifier.add(f"json://127.0.0.1:{sink.port}/json")
    start = time.perf_counter()
    for i in range(n):
        notifier.notify(title="Workspace deleted", body=f"ws-{i} was deleted " + "x" * 900)
    return n / (time.perf_counter() - start)


async def latency(
    sink: Sink, engine: str, seconds: float, rate: float = 50.0
) -> tuple[float, float]:
    async with Database(engine) as db, aiohttp.ClientSession() as session:
        data_dir = tempfile.mkdtemp(prefix="clarion-bench-data-")
        servers = await Servers(db.url, sink, 1, data_dir).start()
        try:
            await _create_user(session, servers.urls[0])
            await sink.reset(session, record=True)
            sent: dict[str, int] = {}
            run = uuid.uuid4().hex[:6]
            count = int(seconds * rate)
            start = time.monotonic()
            for i in range(count):
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                before = time.monotonic_ns()
                async with session.post(
                    f"{servers.urls[0]}/api/v1/events", json=_event(i, run), headers=_headers()
                ) as r:
                    body = await r.json()
                sent[body["messages"][0]["id"]] = before
            await _wait_count(session, sink, count, within=60)
            arrivals = (await sink.stats(session))["arrivals"]
            waits = sorted((arrivals[k] - v) / 1e6 for k, v in sent.items())
            return statistics.median(waits), waits[int(len(waits) * 0.99) - 1]
        finally:
            servers.stop()


async def single_events(sink: Sink, engine: str, n: int, in_flight: int = 16) -> float:
    """Events/s accepted by ``POST /api/v1/events``, one event a request, ``in_flight`` at once
    (how platforms such as Coder post); the dispatcher delivers them meanwhile."""
    async with Database(engine) as db, aiohttp.ClientSession() as session:
        data_dir = tempfile.mkdtemp(prefix="clarion-bench-data-")
        servers = await Servers(db.url, sink, 1, data_dir).start()
        try:
            url = servers.urls[0]
            await _create_user(session, url)
            run = uuid.uuid4().hex[:6]
            todo = iter(range(n))

            async def client() -> None:
                for i in todo:
                    async with session.post(
                        f"{url}/api/v1/events", json=_event(i, run), headers=_headers()
                    ) as r:
                        assert r.status == 202, await r.text()

            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(in_flight)))
            return n / (time.perf_counter() - start)
        finally:
            servers.stop()


async def claim_time(engine: str, queued: int) -> float:
    """Median ms of one 100-message claim with ``queued`` due messages."""
    from clarion.store.db import Database as Store
    from clarion.store.migrate import migrate
    from clarion.store.queue import claim_due_messages
    from clarion.store.tables import events, messages

    async with Database(engine) as db:
        store = Store(db.url)
        await migrate(store)
        now = datetime.now(UTC) - timedelta(minutes=1)
        event_id = uuid.uuid4()
        async with store.begin() as conn:
            await conn.execute(
                events.insert().values(id=event_id, type="bench", labels={}, created_at=now)
            )
        chunk = 10_000
        for start in range(0, queued, chunk):
            rows = [
                {
                    "id": uuid.uuid4(),
                    "event_id": event_id,
                    "event_type": "bench",
                    "method": "webhook",
                    "recipient": "b@example.com",
                    "status": "pending",
                    "attempt_count": 0,
                    "claimable_at": now,
                    "payload": {},
                    "content": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for _ in range(min(chunk, queued - start))
            ]
            async with store.begin() as conn:
                await conn.execute(messages.insert(), rows)
        timings = []
        for _ in range(20):
            t = time.perf_counter()
            await claim_due_messages(
                store, limit=100, lease_period=timedelta(minutes=5), now=datetime.now(UTC)
            )
            timings.append((time.perf_counter() - t) * 1000)
        await store.close()
        return statistics.median(timings)


async def rss_with_queue(sink: Sink, queued: int) -> float:
    async with Database("postgres") as db, aiohttp.ClientSession() as session:
        data_dir = tempfile.mkdtemp(prefix="clarion-bench-data-")
        servers = await Servers(db.url, sink, 1, data_dir).start()
        try:
            await _create_user(session, servers.urls[0])
            await _pause(session, servers.urls[0], True)
            await _post_batches(session, servers.urls, queued, "rss")
            await asyncio.sleep(1)
            return servers.rss_mb()
        finally:
            servers.stop()


def smtp_rate(n: int) -> float:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, sys\n"
            "from aiosmtpd.controller import Controller\n"
            "class H:\n"
            "    async def handle_DATA(self, s, se, e): return '250 OK'\n"
            f"c = Controller(H(), hostname='127.0.0.1', port={port}); c.start()\n"
            "import time\nwhile True: time.sleep(3600)\n",
        ]
    )
    try:
        return asyncio.run(_smtp_send(port, n))
    finally:
        server.terminate()
        server.wait()


async def _smtp_send(port: int, n: int) -> float:
    from clarion.delivery.mail import Composer
    from clarion.delivery.outcome import Outbound, Recipient
    from clarion.delivery.smtp import SmtpSender, SmtpServer
    from clarion.render import Rendered
    from clarion.render.email import Brand

    await asyncio.sleep(1.0)
    composer = Composer(Brand(), lambda _: "http://127.0.0.1/settings/notifications")
    sender = SmtpSender(SmtpServer("127.0.0.1", port), composer, "bench@example.com", pool_size=8)
    content = Rendered("Title", "Title", "body " * 200, "body " * 200, "<p>body</p>" * 20)
    recipient = Recipient(user_id="u", email="to@example.com", name="To", username="to")
    start = time.perf_counter()
    limit = asyncio.Semaphore(8)

    async def one(i: int) -> None:
        async with limit:
            outcome = await sender.send(
                Outbound(str(uuid.uuid4()), "bench", "", "", recipient, content)
            )
            assert type(outcome).__name__ == "Delivered", outcome

    await asyncio.gather(*(one(i) for i in range(n)))
    rate = n / (time.perf_counter() - start)
    await sender.close()
    return rate


# --- running and reporting --------------------------------------------------------------------


def record(
    name: str,
    unit: str,
    runs: list[float],
    note: str = "",
    of_ceiling: list[float] | None = None,
    of_peer: list[float] | None = None,
) -> None:
    """One result: the median of ``runs``; ``of_ceiling`` / ``of_peer``: each run's ratio to
    the ceiling / to Apprise measured in the same round, whose median is reported."""
    median = statistics.median(runs)
    row: dict[str, Any] = {
        "name": name,
        "unit": unit,
        "median": round(median, 2),
        "runs": [round(r, 2) for r in runs],
        "note": note,
    }
    shown = ""
    if of_ceiling:
        row["ratio_of_ceiling"] = round(statistics.median(of_ceiling), 3)
        shown += f"  ({row['ratio_of_ceiling']:.0%} of ceiling)"
    if of_peer:
        row["times_peer"] = round(statistics.median(of_peer), 2)
        shown += f"  ({row['times_peer']:.1f}x Apprise)"
    RESULTS.append(row)
    print(f"{name:<52} {median:>10.1f} {unit:<8}{shown}  runs={row['runs']}", flush=True)


async def three(fn: Callable[[], Awaitable[float]], runs: int) -> list[float]:
    return [await fn() for _ in range(runs)]


async def record_single_events(sink: Sink, n: int, runs: int) -> None:
    for engine in ("postgres", "sqlite"):
        values = await three(functools.partial(single_events, sink, engine, n), runs)
        record(
            f"single events accepted, {engine}, 16 in flight",
            "events/s",
            values,
            "POST /api/v1/events, one event a request",
        )


async def throughput(sink: Sink, n: int, runs: int, engines: list[str], peer: bool) -> None:
    """The ceiling, clarion end to end and Apprise, measured in rounds (each once a round):
    this machine's speed drifts by up to a fifth within minutes, and so weighs on all of
    them alike. Ratios are taken within each round, then their median."""
    configs = [(engine, procs) for engine in engines for procs in (1, 2)]
    tops: list[float] = []
    ends: dict[tuple[str, int], list[float]] = {config: [] for config in configs}
    peers: list[float] = []
    for _ in range(runs):
        tops.append(await ceiling(sink, n))
        for engine, procs in configs:
            ends[(engine, procs)].append(await end_to_end(sink, engine, procs, n))
        if peer:
            peers.append(await asyncio.to_thread(apprise_rate, sink, n // 10))
    record("ceiling: raw aiohttp POSTs, 64 in flight", "req/s", tops)
    for (engine, procs), values in ends.items():
        record(
            f"clarion end to end, {engine}, {procs} dispatcher process(es)",
            "msg/s",
            values,
            "events via the APIs (batches spread over the processes) → delivered",
            of_ceiling=[v / top for v, top in zip(values, tops, strict=True)],
            of_peer=[v / p for v, p in zip(values, peers, strict=True)] if peer else None,
        )
    if peer:
        record(
            "Apprise json:// (peer)",
            "msg/s",
            peers,
            f"{n // 10} notifications",
            of_ceiling=[p / top for p, top in zip(peers, tops, strict=True)],
        )


async def main(quick: bool, only: str) -> None:
    runs = 1 if quick else 3
    n = 2_000 if quick else 20_000
    sink = Sink()
    await wait_http(sink.url + "/stats")
    try:
        if only == "e2e":  # just the end-to-end figures, e.g. while working on throughput
            engines = os.environ.get("CLARION_BENCH_ENGINES", "postgres,sqlite").split(",")
            await throughput(sink, n, runs, engines, peer=False)
            return
        if only == "single":
            await record_single_events(sink, n // 4, runs)
            return
        if only == "split":
            for engine in os.environ.get("CLARION_BENCH_ENGINES", "postgres,sqlite").split(","):
                for procs in (1, 2):
                    await split(sink, engine, procs, n)
            return
        await throughput(sink, n, runs, ["postgres", "sqlite"], peer=True)
        await record_single_events(sink, n // 4, runs)
        for engine in ("postgres", "sqlite"):
            p50s, p99s = [], []
            for _ in range(runs):
                p50, p99 = await latency(sink, engine, 4 if quick else 10)
                p50s.append(p50)
                p99s.append(p99)
            record(f"latency p50 at 50 events/s, {engine}", "ms", p50s)
            record(f"latency p99 at 50 events/s, {engine}", "ms", p99s)
        for engine in ("postgres", "sqlite"):
            for queued in (10_000, 100_000 if quick else 1_000_000):
                record(
                    f"claim 100 with {queued:,} queued, {engine}",
                    "ms",
                    [await claim_time(engine, queued)],
                )
        record(
            "server RSS with 100k queued (paused), postgres",
            "MiB",
            [await rss_with_queue(sink, 10_000 if quick else 100_000)],
        )
        smtp = [await asyncio.to_thread(smtp_rate, 500 if quick else 2_000) for _ in range(runs)]
        record("SMTP to aiosmtpd, 8 reused connections", "msg/s", smtp)
    finally:
        sink.stop()
    write_results()


def write_results() -> None:
    (HERE / "results.json").write_text(
        json.dumps({"results": RESULTS, "at": datetime.now(UTC).isoformat()}, indent=2)
    )
    lines = [
        "| measure | median | unit | vs ceiling | vs Apprise | runs |",
        "|---|---|---|---|---|---|",
    ]
    for r in RESULTS:
        ratio = f"{r['ratio_of_ceiling']:.0%}" if "ratio_of_ceiling" in r else ""
        peer = f"{r['times_peer']:.1f}\N{MULTIPLICATION SIGN}" if "times_peer" in r else ""
        runs = " / ".join(f"{v:g}" for v in r["runs"])
        lines.append(f"| {r['name']} | {r['median']:g} | {r['unit']} | {ratio} | {peer} | {runs} |")
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--quick", action="store_true", help="one short run of each")
    parser.add_argument(
        "--only",
        choices=["all", "e2e", "single", "split"],
        default="all",
        help="e2e: the ceiling and the end-to-end figures only; single: the "
        "single-event intake figures only; split: intake and delivery "
        "measured apart, with CPU per message by process; none is written out",
    )
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.only))
