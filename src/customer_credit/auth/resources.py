"""License Manager style resources; each operation needs Main Access or its own resource."""

MAIN_ACCESS = "Main Access"
READ_INVOICES = "Read Invoices"
CREATE_INVOICES = "Create Invoices"
PAY_INVOICE = "Pay Invoice"
READ_ACCOUNTS = "Read Checking Accounts"
CREATE_ACCOUNTS = "Create Checking Accounts"
EDIT_CREDITS = "Edit credits"
READ_STATEMENTS = "Read Statements"
CREATE_STATEMENTS = "Create Statements"
READ_CONFIGURATION = "Read Configuration"
EDIT_CONFIGURATION = "Edit Configuration"
# Ours, not VTEX's: only the checkout connector's calls (/ppp/{store}), for the key a store
# gives VTEX's gateway (docs/vtex-checkout.md).
PAYMENT_PROVIDER = "Payment Provider"

ALL_RESOURCES = (
    MAIN_ACCESS,
    READ_INVOICES,
    CREATE_INVOICES,
    PAY_INVOICE,
    READ_ACCOUNTS,
    CREATE_ACCOUNTS,
    EDIT_CREDITS,
    READ_STATEMENTS,
    CREATE_STATEMENTS,
    READ_CONFIGURATION,
    EDIT_CONFIGURATION,
    PAYMENT_PROVIDER,
)
