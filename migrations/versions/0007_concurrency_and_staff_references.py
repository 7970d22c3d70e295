"""sign-in backoff (retry_at), staff references on offers, idempotent credential retries

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_login_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_at', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('issuer_offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_reference', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('reference_digest', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_issuer_offers_reference_digest'), ['reference_digest'], unique=False)
    with op.batch_alter_table('issuer_credentials', schema=None) as batch_op:
        batch_op.create_index('ix_issuer_credentials_org_order', ['org_id', 'issued_at', 'id'], unique=False)
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_at', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sealed_response', sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f('ix_issuer_access_tokens_used_at'), ['used_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_access_tokens_used_at'))
        batch_op.drop_column('sealed_response')
        batch_op.drop_column('request_digest')
        batch_op.drop_column('used_at')
    with op.batch_alter_table('issuer_credentials', schema=None) as batch_op:
        batch_op.drop_index('ix_issuer_credentials_org_order')
    with op.batch_alter_table('issuer_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_offers_reference_digest'))
        batch_op.drop_column('reference_digest')
        batch_op.drop_column('sealed_reference')
    with op.batch_alter_table('console_login_attempts', schema=None) as batch_op:
        batch_op.drop_column('retry_at')
