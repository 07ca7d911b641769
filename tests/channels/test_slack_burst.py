"""A burst to a Slack webhook limited to one message a second: all delivered, once, paced.

This runs at Slack's real pace (about 100 s), once, on PostgreSQL (the replicated setup).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest

from tests.fakes.chat import FakeSlack

BURST = 100

pytestmark = pytest.mark.slow  # it runs at the provider's pace, about 100 s


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_100_events_at_one_a_second(start_server) -> None:
    slack = FakeSlack()
    await slack.start()
    try:
        running = await start_server()
        status, channel = await running.call(
            "POST",
            "/api/v1/channels",
            json={
                "name": "alerts",
                "kind": "slack",
                "config": {"webhook_url": slack.webhook_url, "max_per_second": 1},
                "events": ["deploy_failed"],
            },
        )
        assert status == 201, channel
        events = [
            {
                "type": "deploy_failed",
                "labels": {
                    "project": f"p{n:03d}",
                    "application": "api",
                    "application_type": "application",
                    "error_message": "exit 1",
                    "build_url": "https://ci.example.com/b/1",
                },
            }
            for n in range(BURST)
        ]
        status, batch = await running.call("POST", "/api/v1/events/batch", json={"events": events})
        assert status == 202, batch
        ids = [e["messages"][0]["id"] for e in batch["events"]]
        await slack.wait_for(BURST, timeout=BURST * 1.2 + 10)
        final = [await running.wait_status(i, {"sent"}, timeout=10) for i in ids]
    finally:
        await slack.stop()

    assert len(slack.received) == BURST  # none twice
    projects = Counter(
        re.search(r"p\d{3}", r.json()["blocks"][1]["text"]["text"]).group()  # type: ignore[union-attr]
        for r in slack.received
    )
    assert len(projects) == BURST and set(projects.values()) == {1}
    gaps = [b.at - a.at for a, b in itertools.pairwise(slack.received)]
    assert min(gaps) >= 1.0, f"two posts {min(gaps):.3f}s apart"
    # Each sent on its one claim (waiting is not a failed attempt): a second post of any
    # would have needed a second claim, which is counted.
    assert all(m["attempt_count"] == 1 for m in final)
