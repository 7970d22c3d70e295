"""issuer status lists get a number within their organisation (served at
/issuers/{slug}/status/{number}, named by compact offline copies) and a token of their own for
that URI; existing lists are numbered in the order they were first used

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issuer_status_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('numbered_token', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('numbered_token_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('numbered_token_expires_at', sa.BigInteger(), nullable=False,
                                      server_default='0'))
    # Lists have no creation time: their first credential's issuance stands for it (a list
    # that holds none yet comes last), the id breaks ties, so the backfill is deterministic.
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT l.id, l.org_id, MIN(c.issued_at) AS first FROM issuer_status_lists l "
        "LEFT JOIN issuer_credentials c ON c.status_list_id = l.id GROUP BY l.id, l.org_id")).all()
    ordered = sorted(rows, key=lambda r: (r.org_id, r.first is None, r.first or 0, r.id))
    counters: dict[str, int] = {}
    for row in ordered:
        counters[row.org_id] = counters.get(row.org_id, 0) + 1
        bind.execute(sa.text("UPDATE issuer_status_lists SET number = :n WHERE id = :id"),
                     {"n": counters[row.org_id], "id": row.id})
    with op.batch_alter_table('issuer_status_lists', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('numbered_token_version', server_default=None)
        batch_op.alter_column('numbered_token_expires_at', server_default=None)
        batch_op.create_unique_constraint('uq_issuer_status_lists_org_id_number', ['org_id', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('issuer_status_lists', schema=None) as batch_op:
        batch_op.drop_constraint('uq_issuer_status_lists_org_id_number', type_='unique')
        batch_op.drop_column('numbered_token_expires_at')
        batch_op.drop_column('numbered_token_version')
        batch_op.drop_column('number')
        batch_op.drop_column('numbered_token')
