"""The words the console shows for stored states (statuses, import actions, delivery states).
The stored word stays English (the API speaks it); the badge shows it in the store's language."""

from customer_credit.i18n import N_, gettext

STATE_WORDS = frozenset(
    {
        # invoices (Expired is the console's word for an overdue open invoice)
        N_("Opened"),
        N_("Paid"),
        N_("Cancelled"),
        N_("Expired"),
        # accounts
        N_("Open"),
        N_("Closed"),
        # transactions
        N_("Authorized"),
        N_("Settled"),
        # checkout payments
        N_("approved"),
        N_("denied"),
        N_("undefined"),
        # CSV import rows
        N_("create"),
        N_("update"),
        N_("pay"),
        N_("unchanged"),
        N_("skip"),
        N_("error"),
        N_("duplicate"),
        # deliveries and reminders
        N_("pending"),
        N_("delivered"),
        N_("failed"),
        N_("sent"),
    }
)


def state_label(word: str) -> str:
    """`word` in the active language when it is a known state; as stored otherwise."""
    return gettext(word) if word in STATE_WORDS else word
