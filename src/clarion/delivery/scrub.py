"""Secrets out of delivery reasons: a provider's error answer may echo the request back.

A reason ends up in a message's status, its attempts, the log and Test Connection's answer,
so each secret the send used (a channel's secret fields, the request's URL and headers) is
removed from it, in every form it may come back in (see :class:`clarion.redact.Scrubber`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from clarion.delivery.outcome import Defer, Delivered, Failed, Outbound, Outcome, Retry, Sender
from clarion.redact import Scrubber


def scrub_outcome(outcome: Outcome, scrubber: Scrubber) -> Outcome:
    """``outcome`` with ``scrubber``'s secrets removed from its reason or detail."""
    if isinstance(outcome, Retry | Failed | Defer):
        return replace(outcome, reason=scrubber.scrub(outcome.reason))
    if isinstance(outcome, Delivered) and outcome.detail:
        return replace(outcome, detail=scrubber.scrub(outcome.detail))
    return outcome


class ScrubbedSender:
    """A channel's sender whose outcomes never carry the channel's secrets."""

    def __init__(self, inner: Sender, *secrets: Any):
        self.inner = inner
        self._scrubber = Scrubber(*secrets)

    async def send(self, message: Outbound) -> Outcome:
        return scrub_outcome(await self.inner.send(message), self._scrubber)

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            await close()
