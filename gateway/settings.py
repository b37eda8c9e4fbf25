from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class GatewaySettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_GATEWAY_", extra="ignore")

    port: int = 8000
    # Each may list several replicas, comma-separated.
    budget_url: str = "http://127.0.0.1:8001"
    procurement_url: str = "http://127.0.0.1:8002"
    licenses_url: str = "http://127.0.0.1:8003"
    # Access tokens live 15 minutes: short enough that a removed role stops working soon. SPEC bounds
    # a token's lifetime to 300..3600 s; a setting outside that refuses to start.
    token_ttl_seconds: int = Field(default=900, ge=300, le=3600)
    # The password of the bootstrap `admin`; generated and written to the data dir when unset.
    admin_password: str | None = None
    upstream_timeout_seconds: float = 30.0
    max_body_bytes: int = 1_048_576
    rate_per_second: float = 50.0
    rate_burst: int = 400
    token_rate_per_second: float = 2.0
    token_rate_burst: int = 20
    cors_origins: list[str] = []
