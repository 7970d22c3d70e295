"""DPoP (RFC 9449): the key thumbprint an access token is bound to, and the spent proof jti digests

Revision ID: 0016
Revises: 0014

(haip-verifier's 0015 is being written beside this one: whichever lands second revises the other.)
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'issuer_dpop_proofs',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )
    with op.batch_alter_table('issuer_dpop_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_dpop_proofs_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('issuer_dpop_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_dpop_proofs_expires_at'))
    op.drop_table('issuer_dpop_proofs')
