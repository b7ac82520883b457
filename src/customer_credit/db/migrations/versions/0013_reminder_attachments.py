"""reminder e-mails may carry the invoice PDF

Revision ID: 0013_reminder_attachments
Revises: 0012_documents_and_trust
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_reminder_attachments"
down_revision = "0012_documents_and_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store_configs", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("attach_invoice_pdf", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("store_configs", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("attach_invoice_pdf")
