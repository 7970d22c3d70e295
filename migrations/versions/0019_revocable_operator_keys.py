"""Operator keys that can be revoked, and the desk that asked in each check and audit line

A lost laptop or a colleague who left: the key stops working at once, and the row stays (with its
name and when it was revoked) so the organisation can still say who had access until when, and
which desk asked each question (the desk key's digest; none for a check made from the shell).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('verifier_desk_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('issuer_staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.BigInteger(), nullable=True))
    for table in ('verifier_checks', 'verifier_audit'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('desk', sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in ('verifier_audit', 'verifier_checks'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('desk')
    with op.batch_alter_table('issuer_staff', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
    with op.batch_alter_table('verifier_desk_keys', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
