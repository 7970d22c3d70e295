"""consent log: leaves (the last of each append with the tree's frontier), the log's lock row
(made here), stored subtree hashes, signed checkpoints and the sealed log key

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock = op.create_table(
        'consent_log_lock',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    # The one lock row exists before anyone needs it, so nobody races to insert it.
    op.bulk_insert(lock, [{'id': 1}])
    op.create_table(
        'consent_log_leaves',
        sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('commitment', sa.LargeBinary(), nullable=False),
        sa.Column('appended_at', sa.BigInteger(), nullable=False),
        sa.Column('frontier', sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint('idx'),
    )
    op.create_table(
        'consent_log_nodes',
        sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('level', 'idx'),
    )
    op.create_table(
        'consent_log_checkpoints',
        sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('root', sa.LargeBinary(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('signed_at', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('size'),
    )
    op.create_table(
        'consent_log_keys',
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sealed_key', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('consent_log_keys')
    op.drop_table('consent_log_checkpoints')
    op.drop_table('consent_log_nodes')
    op.drop_table('consent_log_leaves')
    op.drop_table('consent_log_lock')
