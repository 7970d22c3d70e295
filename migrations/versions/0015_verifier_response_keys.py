"""verifier checks: the sealed response-decryption key of a direct_post.jwt check (issue 18)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('verifier_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_key', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('verifier_checks', schema=None) as batch_op:
        batch_op.drop_column('response_key')
