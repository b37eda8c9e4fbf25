"""Prometheus metrics shared by every process."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("zhengban_http_requests_total", "HTTP requests", ["method", "route", "status"])
# `<what>_duration_seconds`, the Prometheus naming convention for a histogram of durations.
HTTP_LATENCY = Histogram("zhengban_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
OUTBOX_PUBLISHED = Counter("zhengban_outbox_published_total", "Events published from the outbox")
EVENTS_CONSUMED = Counter("zhengban_events_consumed_total", "Events consumed", ["consumer", "outcome"])
SEAT_BATCH_SIZE = Histogram("zhengban_seat_batch_size", "Allocations applied in one transaction (group commit)",
                            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))

# Sampled when scraped (`kernel.observability.BacklogGauges`), not counted on the hot path.
OUTBOX_PENDING = Gauge("zhengban_outbox_pending", "Events written to the outbox and not yet published")
OUTBOX_OLDEST = Gauge("zhengban_outbox_oldest_seconds", "Age of the oldest unpublished outbox event (outbox lag)")
CONSUMER_PENDING = Gauge("zhengban_consumer_pending", "Messages a durable consumer has not yet taken (consumer lag)",
                         ["consumer"])
DEAD_LETTERS = Gauge("zhengban_dead_letters", "Parked events not yet replayed")
DB_POOL_IN_USE = Gauge("zhengban_db_pool_in_use", "Database connections checked out of the pool")
DB_POOL_SIZE = Gauge("zhengban_db_pool_size", "Database connections the pool keeps")
CONTENTION_RETRIES = Counter("zhengban_contention_retries_total",
                             "Use-case transactions failed by a deadlock or serialization conflict",
                             ["use_case", "outcome"])
