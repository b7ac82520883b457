"""search indexes: account ids of any status, covering status/due-date index, trigram
observation index (PostgreSQL)

Each index serves one invoice search filter or one read path; docs/performance.md shows the
plans (EXPLAIN ANALYZE) at 1,000,000 invoices.

Revision ID: 0004_search_indexes
Revises: 0003_events
"""
from alembic import op

revision = "0004_search_indexes"
down_revision = "0003_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Retrieving an account (or filtering invoices by creditAccountId) looks the id up among
    # open and closed accounts; the unique index only covers open ones.
    op.create_index("ix_accounts_store_public_id", "accounts", ["store_id", "public_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    # status + due-date range: the summary (value) and the page (created_at, id) answer from
    # the index alone.
    op.drop_index("ix_invoices_store_status_due", table_name="invoices")
    op.create_index(
        "ix_invoices_store_status_due",
        "invoices",
        ["store_id", "status", "due_at"],
        postgresql_include=["value_cents", "created_at", "id"],
    )
    # observation: a case-insensitive substring, LIKE '%…%' on lower(observation).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_invoices_observation_trgm ON invoices "
        "USING gin (lower(observation) gin_trgm_ops) WHERE observation IS NOT NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_invoices_observation_trgm", table_name="invoices")
        op.drop_index("ix_invoices_store_status_due", table_name="invoices")
        op.create_index("ix_invoices_store_status_due", "invoices", ["store_id", "status", "due_at"])
    op.drop_index("ix_accounts_store_public_id", table_name="accounts")
