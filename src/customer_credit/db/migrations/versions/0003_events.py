"""events: the outbox and its sequencer, webhook endpoints and deliveries, overdue notices,
reminders and reminder templates

Revision ID: 0003_events
Revises: 0002_console
"""
import sqlalchemy as sa
from alembic import op


revision = '0003_events'
down_revision = '0002_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_sequence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_sequence'))
    )
    op.execute("INSERT INTO event_sequence (id, last_seq) VALUES (1, 0)")
    op.create_table('reminder_templates',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=5), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_reminder_templates_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'kind', name=op.f('pk_reminder_templates'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('cursor_seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_webhook_endpoints_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_endpoints_store', ['store_id', 'deleted_at'], unique=False)
        batch_op.create_index('uq_webhook_endpoints_public_id', ['public_id'], unique=True)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=60), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_events_account_id_accounts')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_events_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_store_seq', ['store_id', 'seq'], unique=False)
        batch_op.create_index('ix_events_unsequenced', ['id'], unique=False, sqlite_where=sa.text('seq IS NULL'), postgresql_where=sa.text('seq IS NULL'))
        batch_op.create_index('uq_events_public_id', ['public_id'], unique=True)
        batch_op.create_index('uq_events_seq', ['seq'], unique=True)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('ordering_key', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('first_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_response', sa.Text(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'pending', 'delivering', 'delivered', 'failed', 'cancelled')", name=op.f('ck_webhook_deliveries_status')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_webhook_deliveries_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_open', ['endpoint_id', 'ordering_key', 'seq'], unique=False, sqlite_where=sa.text("status IN ('queued', 'pending', 'delivering')"), postgresql_where=sa.text("status IN ('queued', 'pending', 'delivering')"))
        batch_op.create_index('uq_webhook_deliveries_event_endpoint', ['event_id', 'endpoint_id'], unique=True)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_opened_due', ['due_at'], unique=False, sqlite_where=sa.text("status = 'Opened'"), postgresql_where=sa.text("status = 'Opened'"))

    op.create_table('overdue_notices',
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_overdue_notices_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('invoice_id', 'due_at', name=op.f('pk_overdue_notices'))
    )
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=5), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('prior', 'after')", name=op.f('ck_reminders_kind')),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'obsolete', 'abandoned')", name=op.f('ck_reminders_status')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reminders_account_id_accounts')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_reminders_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_reminders_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_reminders_store_scheduled', ['store_id', 'scheduled_at'], unique=False)
        batch_op.create_index('uq_reminders_trigger', ['invoice_id', 'kind', 'days', 'due_at'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('uq_reminders_trigger')
        batch_op.drop_index('ix_reminders_store_scheduled')
        batch_op.drop_index('ix_reminders_due')

    op.drop_table('reminders')
    op.drop_table('overdue_notices')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_opened_due', sqlite_where=sa.text("status = 'Opened'"), postgresql_where=sa.text("status = 'Opened'"))
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('uq_webhook_deliveries_event_endpoint')
        batch_op.drop_index('ix_webhook_deliveries_open', sqlite_where=sa.text("status IN ('queued', 'pending', 'delivering')"), postgresql_where=sa.text("status IN ('queued', 'pending', 'delivering')"))
        batch_op.drop_index('ix_webhook_deliveries_due')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('uq_events_seq')
        batch_op.drop_index('uq_events_public_id')
        batch_op.drop_index('ix_events_unsequenced', sqlite_where=sa.text('seq IS NULL'), postgresql_where=sa.text('seq IS NULL'))
        batch_op.drop_index('ix_events_store_seq')

    op.drop_table('events')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index('uq_webhook_endpoints_public_id')
        batch_op.drop_index('ix_webhook_endpoints_store')

    op.drop_table('webhook_endpoints')
    op.drop_table('reminder_templates')
    op.drop_table('event_sequence')
