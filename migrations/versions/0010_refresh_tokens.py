"""refresh tokens: families (claims sealed under the live token) and token digests; access tokens
from a refresh grant carry their family and sealed claims

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'issuer_refresh_families',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('org_id', sa.String(length=36), nullable=False),
        sa.Column('offer_id', sa.String(length=64), nullable=False),
        sa.Column('client_digest', sa.String(length=64), nullable=True),
        sa.Column('sealed_claims', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.BigInteger(), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),
        sa.Column('revoked_at', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['offer_id'], ['issuer_offers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['org_id'], ['issuer_organisations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('issuer_refresh_families', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_refresh_families_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_issuer_refresh_families_offer_id'), ['offer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issuer_refresh_families_org_id'), ['org_id'], unique=False)
    op.create_table(
        'issuer_refresh_tokens',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('family_id', sa.String(length=36), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),
        sa.Column('used_at', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['family_id'], ['issuer_refresh_families.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('digest'),
    )
    with op.batch_alter_table('issuer_refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_refresh_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_issuer_refresh_tokens_family_id'), ['family_id'], unique=False)
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('family_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('sealed_claims', sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f('ix_issuer_access_tokens_family_id'), ['family_id'], unique=False)
        batch_op.create_foreign_key('fk_issuer_access_tokens_family_id', 'issuer_refresh_families', ['family_id'],
                                    ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.drop_constraint('fk_issuer_access_tokens_family_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_issuer_access_tokens_family_id'))
        batch_op.drop_column('sealed_claims')
        batch_op.drop_column('family_id')
    op.drop_table('issuer_refresh_tokens')
    op.drop_table('issuer_refresh_families')
