"""A store's connector settings: manual review, hold and review windows, the auto-settle delay,
and the credentials this server sends with its callbacks to VTEX."""

from sqlalchemy.orm import Session

from customer_credit.checkout.models import CheckoutSettings
from customer_credit.db.base import utcnow
from customer_credit.errors import field_error
from customer_credit.validation import clean_text

DAY_S = 86400
# VTEX's bounds: delayToCancel is 600 s to 30 days, delayToAutoSettle at most 7 days.
MIN_DELAY_TO_CANCEL_S = 600
MAX_DELAY_TO_CANCEL_S = 30 * DAY_S
MAX_AUTO_SETTLE_DELAY_S = 7 * DAY_S


def get_settings(session: Session, store_id: int, *, lock: bool = False) -> CheckoutSettings:
    """The stored settings, or the defaults (not saved)."""
    settings = session.get(CheckoutSettings, store_id, with_for_update=lock)
    if settings is not None:
        return settings
    return CheckoutSettings(
        store_id=store_id,
        manual_review_enabled=False,
        hold_s=30 * DAY_S,
        review_window_s=2 * DAY_S,
        auto_settle_delay_s=MAX_AUTO_SETTLE_DELAY_S,
        callback_app_key=None,
        callback_app_token=None,
    )


def _seconds(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise field_error(field, f"must be between {low} and {high} seconds")
    return value


def save_settings(
    session: Session,
    store_id: int,
    *,
    manual_review_enabled: bool | None = None,
    hold_s: int | None = None,
    review_window_s: int | None = None,
    auto_settle_delay_s: int | None = None,
    callback_app_key: str | None = None,
    callback_app_token: str | None = None,
) -> CheckoutSettings:
    """Changes what is given; an empty callback key or token removes it."""
    settings = session.get(CheckoutSettings, store_id, with_for_update=True)
    if settings is None:
        settings = get_settings(session, store_id)
        session.add(settings)
    if manual_review_enabled is not None:
        settings.manual_review_enabled = manual_review_enabled
    if hold_s is not None:
        settings.hold_s = _seconds("holdSeconds", hold_s, MIN_DELAY_TO_CANCEL_S, MAX_DELAY_TO_CANCEL_S)
    if review_window_s is not None:
        settings.review_window_s = _seconds(
            "reviewWindowSeconds", review_window_s, MIN_DELAY_TO_CANCEL_S, MAX_DELAY_TO_CANCEL_S
        )
    if auto_settle_delay_s is not None:
        settings.auto_settle_delay_s = _seconds(
            "autoSettleDelaySeconds", auto_settle_delay_s, 0, MAX_AUTO_SETTLE_DELAY_S
        )
    if callback_app_key is not None:
        key = clean_text("callbackAppKey", callback_app_key.strip(), max_length=200, allow_newlines=False)
        settings.callback_app_key = key or None
    if callback_app_token is not None:
        token = clean_text(
            "callbackAppToken", callback_app_token.strip(), max_length=500, allow_newlines=False
        )
        settings.callback_app_token = token or None
    settings.updated_at = utcnow()
    session.flush()
    return settings


def settings_wire(settings: CheckoutSettings) -> dict:
    """The token is a secret: the answer only says whether one is set."""
    return {
        "manualReviewEnabled": settings.manual_review_enabled,
        "holdSeconds": settings.hold_s,
        "reviewWindowSeconds": settings.review_window_s,
        "autoSettleDelaySeconds": settings.auto_settle_delay_s,
        "callbackAppKey": settings.callback_app_key,
        "callbackAppTokenSet": settings.callback_app_token is not None,
    }
