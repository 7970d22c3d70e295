"""wallet sessions: an unlocked wallet in a browser, its vault key sealed under the cookie

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'wallet_sessions',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.Column('started_at', sa.BigInteger(), nullable=False),
        sa.Column('last_seen', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )
    op.create_index('ix_wallet_sessions_last_seen', 'wallet_sessions', ['last_seen'])


def downgrade() -> None:
    op.drop_index('ix_wallet_sessions_last_seen', table_name='wallet_sessions')
    op.drop_table('wallet_sessions')
