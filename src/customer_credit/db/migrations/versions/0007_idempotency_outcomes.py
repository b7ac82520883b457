"""idempotency: store refusals too

A key is now claimed in a transaction of its own before its request runs, so a record may be
in progress: no outcome yet (status_code and response_body NULL), a claim token and the moment
the claim lapses.

Revision ID: 0007_idempotency_outcomes
Revises: 0006_sign_in_throttle
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_idempotency_outcomes"
down_revision = "0006_sign_in_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.alter_column("status_code", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("response_body", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # Claims still in progress have no outcome to keep; the request behind each one changed
    # nothing that committed (its change and its outcome commit together).
    op.execute("DELETE FROM idempotency_records WHERE status_code IS NULL")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.alter_column("response_body", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("status_code", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claim_token")
