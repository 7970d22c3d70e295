"""offline QR verification (issue 13): the desk's short-lived nonces (consumed once) and the key
bindings already seen inside their window (replay)

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
    for table in ('verifier_offline_nonces', 'verifier_offline_seen'):
        op.create_table(
            table,
            sa.Column('digest', sa.String(length=64), nullable=False),
            sa.Column('expires_at', sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint('digest'),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    for table in ('verifier_offline_seen', 'verifier_offline_nonces'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_expires_at'))
        op.drop_table(table)
