"""wallet vaults: one row per holder wallet, only ciphertext, salts and KDF parameters

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'wallet_vaults',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('format', sa.Integer(), nullable=False),
        sa.Column('passphrase_opslimit', sa.Integer(), nullable=False),
        sa.Column('passphrase_memlimit', sa.BigInteger(), nullable=False),
        sa.Column('passphrase_salt', sa.LargeBinary(), nullable=False),
        sa.Column('passphrase_wrap', sa.LargeBinary(), nullable=False),
        sa.Column('recovery_opslimit', sa.Integer(), nullable=False),
        sa.Column('recovery_memlimit', sa.BigInteger(), nullable=False),
        sa.Column('recovery_salt', sa.LargeBinary(), nullable=False),
        sa.Column('recovery_wrap', sa.LargeBinary(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('wallet_vaults')
