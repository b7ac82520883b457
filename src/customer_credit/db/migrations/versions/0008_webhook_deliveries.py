"""webhook deliveries keep status and timing, not response bodies

Revision ID: 0008_webhook_deliveries
Revises: 0007_idempotency_outcomes
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_webhook_deliveries"
down_revision = "0007_idempotency_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs (SQLite >= 3.35 drops a column in place): recreating the table would have
    # to reflect its partial index and CHECK constraint back faithfully.
    with op.batch_alter_table("webhook_deliveries", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("last_response")
        batch_op.add_column(sa.Column("last_duration_ms", sa.Integer(), nullable=True))
    # The old error texts were raw exception messages (they told which ports answer); keep only
    # the fixed category that the dispatcher now writes.
    op.execute(
        "UPDATE webhook_deliveries SET last_error = CASE"
        " WHEN lower(last_error) LIKE '%timed out%' OR lower(last_error) LIKE '%timeout%' THEN 'timeout'"
        " ELSE 'connection failed' END"
        " WHERE last_error IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("last_duration_ms")
        batch_op.add_column(sa.Column("last_response", sa.Text(), nullable=True))
