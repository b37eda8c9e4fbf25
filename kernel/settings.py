"""Settings shared by every process; each process subclasses them with its own env prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only ever accepted in development: a fresh clone must run without any configuration, and a
# production deployment must never run on a secret that is printed in the source.
DEV_INTERNAL_TOKEN = "dev-internal-token-not-for-production"


class ProcessSettings(BaseSettings):
    """Settings every process has. Subclasses set `env_prefix`, e.g. `ZHENGBAN_BUDGET_`."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".data")
    database_url: str = ""
    # Connections this process keeps to PostgreSQL, and never more: a request that finds them all
    # busy waits for one. More would only queue on the same row locks inside PostgreSQL (the hot
    # pool ran a third faster with 10 than with up to 30), and 4 processes × 2 replicas × 10 stays
    # under PostgreSQL's default max_connections of 100.
    database_pool_size: int = 10
    nats_url: str = "nats://127.0.0.1:4222"
    # 3 on a NATS cluster; the streams are created with this many replicas.
    nats_stream_replicas: int = 1
    # Where services fetch the JWKS and look up orgs they have not heard of yet.
    gateway_url: str = "http://127.0.0.1:8000"
    # Shared secret for the gateway's /internal endpoints (service-to-gateway only).
    internal_token: str = DEV_INTERNAL_TOKEN
    jwt_issuer: str = "zhengban"
    jwt_audience: str = "zhengban-api"
    log_level: str = "INFO"
    # Consumers park an event in the dead-letter table after this many failed deliveries.
    max_delivery_attempts: int = 5
    # JetStream hands an event to a consumer again when its process has not acknowledged it this
    # long after delivery: what a crash mid-event costs before a replacement applies it. Longer
    # than any batch takes on a busy machine (an event handled twice changes nothing, but it is
    # work twice); the suite's crash tests use a shorter one. A consumer takes it when it is made
    # (a process's first start on an empty NATS); changing it later leaves existing ones as they are.
    event_ack_wait_seconds: int = Field(default=30, ge=5, le=3600)
    # Start the outbox relay and the event consumers (off in some unit tests).
    run_background: bool = True
    # An Idempotency-Key answers retries this long (SPEC: at least 24 hours), then it is pruned.
    idempotency_key_retention_hours: int = Field(default=48, ge=24, le=24 * 366)
    # Inbox rows (events applied) are pruned after this long: far past any redelivery.
    inbox_retention_days: int = Field(default=30, ge=1, le=3660)
    retention_prune_interval_seconds: int = Field(default=3600, ge=1, le=86_400)
    # Fault injection for the tests only: the process kills itself right after committing the work
    # of the request with this Idempotency-Key, before answering it. Empty: never.
    crash_after_commit_for_key: str = ""

    @model_validator(mode="after")
    def _refuse_default_secrets(self):
        if self.environment != "development" and self.internal_token == DEV_INTERNAL_TOKEN:
            raise ValueError("internal_token must be set outside development")
        return self

    def sqlite_url(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{name}.db').resolve()}"
