"""consent proofs spent: the digests of holder proofs already used, until they would have expired
anyway (a proof replayed within its five minutes is refused)

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'consent_proofs_spent',
        sa.Column('digest', sa.LargeBinary(), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )
    with op.batch_alter_table('consent_proofs_spent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_proofs_spent_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consent_proofs_spent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_proofs_spent_expires_at'))
    op.drop_table('consent_proofs_spent')
