"""An index on a credential's batch and id: the console lists a batch once, by its first copy

A batch's copies share one status; the console's credentials list shows the batch as one row, the
copy with the lowest id, found per row by ``min(id)`` over the batch. Without this index that is a
scan of the whole batch for every row (a refresh adds copies to it, without bound: helper-93).

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_issuer_credentials_batch', 'issuer_credentials', ['offer_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_issuer_credentials_batch', table_name='issuer_credentials')
