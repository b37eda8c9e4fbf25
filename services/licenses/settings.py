from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class LicensesSettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_LICENSES_", extra="ignore")

    # How often ended subscriptions are looked for (SPEC: within a minute or so of valid_to).
    expiry_interval_seconds: float = 20.0
