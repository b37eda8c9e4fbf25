from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class LicensesSettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_LICENSES_", extra="ignore")

    # How often ended subscriptions are looked for (SPEC: within a minute or so of valid_to).
    expiry_interval_seconds: float = 20.0
    # Group commit of allocations (allocations/batching.py): at most this many requests (of any
    # pools) in one transaction, and under contention the next batch waits this long for stragglers.
    allocation_batch_max: int = Field(default=256, ge=1, le=10_000)
    allocation_batch_window_ms: float = Field(default=2.0, ge=0, le=50)
    # Batches applied at once: the next writes its rows while one holds its pools' rows.
    allocation_batches_in_flight: int = Field(default=2, ge=1, le=16)
    # How often the re-recognition job looks for a changed catalogue (SPEC: within a minute).
    recognition_interval_seconds: float = Field(default=10.0, gt=0, le=60)
