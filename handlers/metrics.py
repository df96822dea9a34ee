"""The bot's Prometheus counters, one registry per process, served at /metrics."""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from storage.responses import Completion, ResponseStore, UpdateKey
from survey.flow import Moved, Progress

# Declarations only (no I/O): prometheus-client's idiom is one set of counters per process.
REGISTRY = CollectorRegistry(auto_describe=True)
ANSWERS = Counter("sipas_answers_stored", "Survey steps stored", registry=REGISTRY)
COMPLETED = Counter("sipas_surveys_completed", "Surveys completed", registry=REGISTRY)
COMMIT_SECONDS = Histogram(
    "sipas_commit_seconds",
    "Time to store one survey step, commit included",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
SEND_ERRORS = Counter(
    "sipas_bot_api_errors",
    "Failed Bot API sends that were retried or given up (kind: rate_limited = 429)",
    ["kind"],
    registry=REGISTRY,
)
DIGESTS = Counter(
    "sipas_digest_deliveries",
    "Weekly digest deliveries by outcome",
    ["channel", "outcome"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    """The text format Prometheus scrapes."""
    return generate_latest(REGISTRY)


def count_send_error(rate_limited: bool) -> None:
    SEND_ERRORS.labels("rate_limited" if rate_limited else "error").inc()


def count_digest(channel: str, outcome: str) -> None:
    DIGESTS.labels(channel, outcome).inc()


class MeteredResponseStore(ResponseStore):
    """The response store, counting what it stores and timing each step's commit."""

    async def record(
        self,
        progress: Progress,
        moved: Moved,
        now: datetime,
        *,
        completion: Completion | None = None,
        update: UpdateKey | None = None,
    ) -> Progress | None:
        started = time.perf_counter()
        stored = await super().record(progress, moved, now, completion=completion, update=update)
        COMMIT_SECONDS.observe(time.perf_counter() - started)
        if stored is not None:
            ANSWERS.inc()
            if completion is not None:
                COMPLETED.inc()
        return stored
