"""DPoP-bound refresh tokens (RFC 9449 section 5): the key thumbprint a refresh family is bound to

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issuer_refresh_families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('issuer_refresh_families', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
