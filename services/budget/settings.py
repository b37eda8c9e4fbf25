from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class BudgetSettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_BUDGET_", extra="ignore")
