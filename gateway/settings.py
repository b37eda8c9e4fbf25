from __future__ import annotations

import ipaddress

import limits
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class GatewaySettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_GATEWAY_", extra="ignore", populate_by_name=True)

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
    # Files handed in to an import (`POST …:import`, such as a detection tool's 50,000-row export):
    # the service behind refuses a file above its own limit with 413 naming it.
    max_upload_bytes: int = 33_554_432
    rate_per_second: float = 50.0
    rate_burst: int = 400
    # Successful sign-ins are not limited: an office of hundreds signs in from one NAT address at
    # 9:00. Guessing is stopped by the failures: per address (in the `limits` notation; past it,
    # every sign-in from there answers 429) and per username (the lockout below).
    failed_sign_ins_per_address: str = "50 per 15 minutes"
    # `lockout_failures` failed sign-ins of one username within `lockout_window_minutes` lock it for
    # `lockout_minutes`; a locked user is answered as a wrong password is.
    lockout_failures: int = Field(default=5, ge=1, le=1000)
    lockout_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # What a new password must contain (SPEC: at least 10 characters of at least 3 of the 4 classes).
    password_min_length: int = Field(default=10, ge=8, le=200)
    password_min_classes: int = Field(default=3, ge=1, le=4)
    # Single sign-on through the unit's OpenID Connect provider (统一身份认证), for the console; off
    # unless the issuer, client id and secret are all set. `ZHENGBAN_OIDC_*` is read too.
    oidc_issuer: str = Field("", validation_alias=AliasChoices("ZHENGBAN_GATEWAY_OIDC_ISSUER", "ZHENGBAN_OIDC_ISSUER",
                                                               "oidc_issuer"))
    oidc_client_id: str = Field("", validation_alias=AliasChoices(
        "ZHENGBAN_GATEWAY_OIDC_CLIENT_ID", "ZHENGBAN_OIDC_CLIENT_ID", "oidc_client_id"))
    oidc_client_secret: str = Field("", validation_alias=AliasChoices(
        "ZHENGBAN_GATEWAY_OIDC_CLIENT_SECRET", "ZHENGBAN_OIDC_CLIENT_SECRET", "oidc_client_secret"))
    # The ID token's claim that holds the Zhengban username.
    oidc_username_claim: str = Field("preferred_username", validation_alias=AliasChoices(
        "ZHENGBAN_GATEWAY_OIDC_USERNAME_CLAIM", "ZHENGBAN_OIDC_USERNAME_CLAIM", "oidc_username_claim"))
    # How long the audit log keeps an entry (网络安全法 Art. 21: at least six months).
    audit_retention_days: int = Field(default=400, ge=180, le=3660)
    # False leaves proxied state-changing requests out of the audit log (sign-ins are still
    # recorded): only so that `zhengban bench` can measure what the log costs the hot path, with a
    # second gateway beside the first. Refused outside development, where the log is the law's.
    audit_requests: bool = True
    # Where gateways share rate limits and console sessions (`redis://host:port/db`); empty: rate
    # limits in this process and console sessions in the gateway's database. `ZHENGBAN_REDIS_URL`
    # (what `zhengban up` reads) is accepted too.
    redis_url: str = Field("", validation_alias=AliasChoices("ZHENGBAN_GATEWAY_REDIS_URL", "ZHENGBAN_REDIS_URL",
                                                             "redis_url"))
    # Keys in Redis start with this: instances (or test runs) sharing one Redis stay apart.
    redis_key_prefix: str = "zhengban"
    cors_origins: list[str] = []
    # Webhooks: how often due deliveries are looked for, the wait before each retry (the last one
    # repeats; Standard Webhooks' own schedule), how long a delivery is retried, and how long one
    # POST may take.
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_retry_schedule_seconds: list[float] = [5, 300, 1800, 7200, 18000, 36000]
    webhook_retry_for_seconds: float = Field(default=86400, gt=0)
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    # The proxies (addresses or networks, comma-separated) whose `X-Forwarded-For` entry names the
    # client; empty: the client is the socket's peer. Anyone else's header is ignored, or a guesser
    # would write a new address into each request and never meet the per-address limit.
    trusted_proxies: str = Field("", validation_alias=AliasChoices(
        "ZHENGBAN_GATEWAY_TRUSTED_PROXIES", "ZHENGBAN_TRUSTED_PROXIES", "trusted_proxies"))
    # E-mail digests (docs/notifications.md): sent only when an SMTP server is named
    # (`smtp://[user:password@]host[:port][?starttls=1]`, `smtps://` for TLS from the start), from
    # this address; who is due a digest is looked at every `email_poll_seconds`.
    smtp_url: str = Field("", validation_alias=AliasChoices("ZHENGBAN_SMTP_URL", "ZHENGBAN_GATEWAY_SMTP_URL",
                                                            "smtp_url"))
    smtp_from: str = "正版化管理 <zhengban@localhost>"
    email_poll_seconds: float = Field(default=300, gt=0)

    @field_validator("smtp_url")
    @classmethod
    def _an_smtp_url(cls, value: str) -> str:
        if value:
            from gateway.notifications.digest import Smtp

            Smtp.parse(value)  # a wrong URL refuses to start rather than failing every hour
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            ipaddress.ip_network(entry, strict=False)  # raises ValueError; "*" (trust anyone) too
        return value

    @model_validator(mode="after")
    def _audit_requests_off_only_in_development(self):
        if not self.audit_requests and self.environment != "development":
            raise ValueError("audit_requests may be false only in development (the bench's measure of its cost)")
        return self

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [e.strip() for e in self.trusted_proxies.split(",") if e.strip()]

    @field_validator("failed_sign_ins_per_address")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        limits.parse(value)  # raises ValueError on anything the library cannot read
        return value
