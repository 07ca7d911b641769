"""Prometheus metrics: what was sent, failed and retried, and how long dispatch took."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "clarion_deliveries_total",
    "Delivery attempts by method (channel:<kind> for team channels) and result.",
    ["method", "result"],
    registry=REGISTRY,
)
DISPATCH_SECONDS = Histogram(
    "clarion_dispatch_duration_seconds",
    "Time one send took, by method.",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "clarion_delivery_latency_seconds",
    "From enqueue to a successful send, by method.",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 3600),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "clarion_messages", "Messages in the queue by status.", ["status"], registry=REGISTRY
)
OLDEST_PENDING = Gauge(
    "clarion_oldest_pending_message_age_seconds",
    "Age of the oldest message still waiting to be sent.",
    registry=REGISTRY,
)
PAUSED = Gauge("clarion_paused", "1 while delivery is paused (kill switch).", registry=REGISTRY)
