"""consent records: records (pseudonymous, content as JSON of names and DPV terms), events with
their salts and leaf indices, withdrawal notices (the webhook outbox)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'consent_records',
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('subject_id', sa.String(length=64), nullable=True),
        sa.Column('controller_id', sa.String(length=300), nullable=False),
        sa.Column('content', sa.Text(), nullable=True),
        sa.Column('created_at', sa.BigInteger(), nullable=False),
        sa.Column('retain_until', sa.BigInteger(), nullable=False),
        sa.Column('erased_at', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('record_id'),
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_records_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_records_controller_id'), ['controller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_records_retain_until'), ['retain_until'], unique=False)
    op.create_table(
        'consent_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('at', sa.BigInteger(), nullable=False),
        sa.Column('actor', sa.String(length=16), nullable=False),
        sa.Column('salt', sa.LargeBinary(), nullable=False),
        sa.Column('leaf_index', sa.BigInteger(), nullable=False),
        sa.Column('receipt', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['record_id'], ['consent_records.record_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_events_record_id'), ['record_id'], unique=False)
    op.create_table(
        'consent_notices',
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_at', sa.BigInteger(), nullable=False),
        sa.Column('deadline', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['record_id'], ['consent_records.record_id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('record_id'),
    )
    with op.batch_alter_table('consent_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_notices_next_at'), ['next_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_notices_deadline'), ['deadline'], unique=False)


def downgrade() -> None:
    op.drop_table('consent_notices')
    op.drop_table('consent_events')
    op.drop_table('consent_records')
