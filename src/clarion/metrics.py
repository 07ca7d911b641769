"""Prometheus metrics: what was sent, failed and retried, how long it took, and the queue.

Deliveries and timings are labelled by ``method`` (the user method — ``smtp``, ``webhook``,
``inbox``, ``resend``, ``slack`` — or ``channel`` for team channels) and ``channel_kind``
(``slack``, ``discord``, …; empty for user methods), and deliveries also by ``event_type``.
Methods and kinds come from fixed sets and event types from the catalog an admin keeps, so
the number of series stays bounded: never a channel's id or name, and an unexpected method
or kind is ``other``.
"""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from clarion.channels import METHOD_PREFIX
from clarion.channels.registry import kinds
from clarion.config import METHODS

REGISTRY = CollectorRegistry(auto_describe=True)

# Values of the ``result`` label of clarion_deliveries_total.
SENT = "sent"
RETRIED = "retried"
FAILED = "failed"

DELIVERIES = Counter(
    "clarion_deliveries_total",
    "Delivery attempts by method, channel kind, event type and result (sent, retried, failed).",
    ["method", "channel_kind", "event_type", "result"],
    registry=REGISTRY,
)
INFLIGHT = Gauge(
    "clarion_inflight_dispatches",
    "Sends under way in this process, by method and channel kind.",
    ["method", "channel_kind"],
    registry=REGISTRY,
)
QUEUED_SECONDS = Histogram(
    "clarion_queued_seconds",
    "From enqueue to the start of a message's first send, by method and channel kind.",
    ["method", "channel_kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 3600),
    registry=REGISTRY,
)
DISPATCH_SECONDS = Histogram(
    "clarion_dispatch_duration_seconds",
    "Time one send took, by method and channel kind.",
    ["method", "channel_kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "clarion_delivery_latency_seconds",
    "From enqueue to a successful send, by method and channel kind.",
    ["method", "channel_kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 3600),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "clarion_messages",
    "Messages in the database by status (sent, permanent_failure and inhibited are "
    "recounted at most every 30 seconds).",
    ["status"],
    registry=REGISTRY,
)
OLDEST_PENDING = Gauge(
    "clarion_oldest_pending_message_age_seconds",
    "Age of the oldest message still waiting to be sent (0 when none is).",
    registry=REGISTRY,
)
PAUSED = Gauge("clarion_paused", "1 while delivery is paused (kill switch).", registry=REGISTRY)

CHANNEL_PREFIX = METHOD_PREFIX
OTHER = "other"


def method_labels(method: str) -> tuple[str, str]:
    """The ``(method, channel_kind)`` labels for a message's method column.

    ``webhook`` → ``("webhook", "")``; ``channel:slack`` → ``("channel", "slack")``.
    """
    if method.startswith(CHANNEL_PREFIX):
        kind = method.removeprefix(CHANNEL_PREFIX)
        return "channel", kind if kind in kinds() else OTHER
    return (method if method in METHODS else OTHER), ""


# The labelled series a send touches, looked up once per method: ``labels()`` takes a lock
# and checks its arguments on every call, three times a message.
@functools.lru_cache(maxsize=4096)
def deliveries(method: str, event_type: str, result: str) -> Counter:
    """clarion_deliveries_total for a message's method column, event type and a result."""
    return DELIVERIES.labels(*method_labels(method), event_type, result)


@functools.lru_cache(maxsize=256)
def inflight(method: str) -> Gauge:
    """clarion_inflight_dispatches for a message's method column."""
    return INFLIGHT.labels(*method_labels(method))


@functools.lru_cache(maxsize=256)
def queued_seconds(method: str) -> Histogram:
    """clarion_queued_seconds for a message's method column."""
    return QUEUED_SECONDS.labels(*method_labels(method))


@functools.lru_cache(maxsize=256)
def dispatch_seconds(method: str) -> Histogram:
    """clarion_dispatch_duration_seconds for a message's method column."""
    return DISPATCH_SECONDS.labels(*method_labels(method))


@functools.lru_cache(maxsize=256)
def delivery_latency(method: str) -> Histogram:
    """clarion_delivery_latency_seconds for a message's method column."""
    return DELIVERY_LATENCY.labels(*method_labels(method))
