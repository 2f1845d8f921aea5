"""Prometheus metrics, one registry per app so several apps (tests) never collide.

Under several workers (bot/workers.py) prometheus_client runs in its multiprocess mode: each
worker writes its values to files in PROMETHEUS_MULTIPROC_DIR, and whichever worker answers a
scrape sums them, so /metrics shows the whole server rather than one process.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "tuijin_inbound_events", "Inbound events accepted", ["platform", "kind"], registry=self.registry
        )
        self.duplicates = Counter(
            "tuijin_inbound_duplicates", "Re-delivered events ignored", ["platform"], registry=self.registry
        )
        self.rejected = Counter(
            "tuijin_inbound_rejected", "Requests refused at the edge", ["platform", "reason"],
            registry=self.registry,
        )
        self.backlog_refused = Counter(
            "tuijin_inbound_backlog_refused", "Events answered 503 because too many await processing",
            registry=self.registry,
        )
        self.inbound_failed = Counter(
            "tuijin_inbound_failed", "Events given up after their last attempt", ["platform", "kind"],
            registry=self.registry,
        )
        self.inbound_retried = Counter(
            "tuijin_inbound_retried", "Event attempts that failed and will be replayed", ["platform", "kind"],
            registry=self.registry,
        )
        self.inbound_replayed = Counter(
            "tuijin_inbound_replayed", "Acknowledged events replayed by the recovery loop", ["platform"],
            registry=self.registry,
        )
        self.commands = Counter(
            "tuijin_commands", "Commands handled", ["command", "outcome"], registry=self.registry
        )
        self.sent = Counter("tuijin_outbox_sent", "Messages delivered", ["platform"], registry=self.registry)
        self.retried = Counter(
            "tuijin_outbox_retried", "Deliveries that will be tried again", ["platform"], registry=self.registry
        )
        self.dead = Counter(
            "tuijin_outbox_dead", "Messages given up on (kept in the outbox)", ["platform"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "tuijin_outbox_pending", "Messages waiting in the outbox", registry=self.registry,
            # Every worker counts the same table: the latest count is the answer, not their sum.
            multiprocess_mode="mostrecent",
        )
        self.inbox_waiting = Gauge(
            "tuijin_inbox_waiting", "Acknowledged events not yet processed", registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.sweep_failures = Counter(
            "tuijin_sweep_failures", "Scheduled sweeps that failed in part or whole", ["sweep"],
            registry=self.registry,
        )
        self.card_action_seconds = Histogram(
            "tuijin_card_action_seconds", "Time to answer a card click", ["platform"], registry=self.registry
        )

    def render(self) -> bytes:
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not shared:
            return generate_latest(self.registry)
        workers = CollectorRegistry()
        MultiProcessCollector(workers, path=shared)
        return generate_latest(workers)
