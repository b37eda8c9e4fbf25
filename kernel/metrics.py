"""Prometheus metrics shared by every process."""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("zhengban_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("zhengban_http_request_seconds", "HTTP request latency", ["method", "route"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
OUTBOX_PUBLISHED = Counter("zhengban_outbox_published_total", "Events published from the outbox")
EVENTS_CONSUMED = Counter("zhengban_events_consumed_total", "Events consumed", ["consumer", "outcome"])
SEAT_BATCH_SIZE = Histogram("zhengban_seat_batch_size", "Allocations applied in one transaction (group commit)",
                            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
