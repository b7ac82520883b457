"""Store configuration on the wire."""

import re

from pydantic import StrictBool, field_validator

from customer_credit.api.types import Amount, Rate, WholeNumber, WireModel
from customer_credit.money import from_cents, rate_for_wire, rate_from_units, rate_to_units, to_cents
from customer_credit.stores.models import StoreConfig

_TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
MAX_TRIGGERS = 3
MAX_TRIGGER_DAYS = 365


class Trigger(WireModel):
    days: WholeNumber
    timeOfDay: str

    @field_validator("days")
    @classmethod
    def _days(cls, days: int) -> int:
        if not 0 <= days <= MAX_TRIGGER_DAYS:
            raise ValueError(f"must be between 0 and {MAX_TRIGGER_DAYS}")
        return days

    @field_validator("timeOfDay")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME_OF_DAY.fullmatch(value):
            raise ValueError("must be HH:MM:SS")
        return value


class NotificationsSettings(WireModel):
    daysPrior: list[Trigger] = []
    daysAfter: list[Trigger] = []

    @field_validator("daysPrior", "daysAfter")
    @classmethod
    def _at_most_three(cls, triggers: list[Trigger]) -> list[Trigger]:
        if len(triggers) > MAX_TRIGGERS:
            raise ValueError(f"at most {MAX_TRIGGERS} triggers")
        return triggers


class StoreConfigIn(WireModel):
    dailyInterestRate: Rate
    invoicePostponementLimit: WholeNumber
    taxRate: Rate
    maxPostponementDays: WholeNumber
    defaultCreditValue: Amount
    maxPreAuthorizationGrowthRate: Rate
    myCreditsEnabled: StrictBool
    toleranceEnabled: StrictBool
    automaticCheckingAccountCreationEnabled: StrictBool
    postponementEnabled: StrictBool
    notificationsSettings: NotificationsSettings | None = None

    @field_validator("invoicePostponementLimit", "maxPostponementDays")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    def to_columns(self) -> dict:
        notifications = (self.notificationsSettings or NotificationsSettings()).model_dump()
        return {
            "daily_interest_rate_units": rate_to_units(self.dailyInterestRate),
            "invoice_postponement_limit": self.invoicePostponementLimit,
            "tax_rate_units": rate_to_units(self.taxRate),
            "max_postponement_days": self.maxPostponementDays,
            "default_credit_cents": to_cents(self.defaultCreditValue),
            "growth_rate_units": rate_to_units(self.maxPreAuthorizationGrowthRate),
            "my_credits_enabled": self.myCreditsEnabled,
            "tolerance_enabled": self.toleranceEnabled,
            "automatic_account_creation_enabled": self.automaticCheckingAccountCreationEnabled,
            "postponement_enabled": self.postponementEnabled,
            "notifications": notifications,
        }


def config_wire(config: StoreConfig) -> dict:
    notifications = config.notifications or {}
    return {
        "dailyInterestRate": rate_for_wire(rate_from_units(config.daily_interest_rate_units)),
        "invoicePostponementLimit": config.invoice_postponement_limit,
        "taxRate": rate_for_wire(rate_from_units(config.tax_rate_units)),
        "maxPostponementDays": config.max_postponement_days,
        "defaultCreditValue": from_cents(config.default_credit_cents),
        "maxPreAuthorizationGrowthRate": rate_for_wire(rate_from_units(config.growth_rate_units)),
        "myCreditsEnabled": config.my_credits_enabled,
        "toleranceEnabled": config.tolerance_enabled,
        "automaticCheckingAccountCreationEnabled": config.automatic_account_creation_enabled,
        "postponementEnabled": config.postponement_enabled,
        "notificationsSettings": {
            "daysPrior": notifications.get("daysPrior", []),
            "daysAfter": notifications.get("daysAfter", []),
        },
    }
