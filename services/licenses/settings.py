from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class LicensesSettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_LICENSES_", extra="ignore")
