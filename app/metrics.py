"""Prometheus metrics, defined once and served at `GET /metrics`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

DELIVERIES_RECEIVED = Counter(
    "deckhand_deliveries_received_total",
    "Inbound deliveries persisted, by source and event.",
    ["source", "event"],
)
DELIVERIES_DUPLICATE = Counter(
    "deckhand_deliveries_duplicate_total",
    "Inbound deliveries whose id was already stored (redeliveries), not queued again.",
    ["source"],
)
DELIVERIES_REJECTED = Counter(
    "deckhand_deliveries_rejected_total",
    "Inbound requests refused, by reason.",
    ["reason"],
)
DELIVERIES_PROCESSED = Counter(
    "deckhand_deliveries_processed_total",
    "Processing attempts that ended, by event and outcome (done, retry, dead).",
    ["event", "outcome"],
)
PROCESSING_SECONDS = Histogram(
    "deckhand_delivery_processing_seconds",
    "Time spent processing one delivery attempt.",
    ["event"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
QUEUE_LATENCY_SECONDS = Histogram(
    "deckhand_delivery_queue_seconds",
    "Time from receipt to the start of the first processing attempt.",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)
DATABASE_COMMIT_SECONDS = Histogram(
    "deckhand_database_commit_seconds",
    "Time one commit took: `durable` ones wait for the disk (fsync), `relaxed` ones do not."
    " Every request that stores a delivery waits for a durable commit, so a slow disk shows"
    " here first.",
    ["mode"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
DATABASE_WAIT_SECONDS = Histogram(
    "deckhand_database_wait_seconds",
    "Time a unit of database work waited for a database thread before it started.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
QUEUE_DEPTH = Gauge("deckhand_queue_depth", "Deliveries in the queue, by status.", ["status"])
QUEUE_OLDEST_SECONDS = Gauge(
    "deckhand_queue_oldest_seconds", "Age of the oldest delivery waiting to be processed."
)
GITHUB_RATE_LIMIT_REMAINING = Gauge(
    "deckhand_github_rate_limit_remaining",
    "Requests left in GitHub's rate-limit window, by installation (0 for the App itself).",
    ["installation"],
)
GITHUB_REQUESTS = Counter(
    "deckhand_github_requests_total",
    "Requests sent to GitHub's REST API, by method and status class.",
    ["method", "status"],
)
GITHUB_RETRIES = Counter(
    "deckhand_github_retries_total", "GitHub requests retried, by reason.", ["reason"]
)


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
