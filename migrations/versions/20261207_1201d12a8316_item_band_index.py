"""item band index

Revision ID: 1201d12a8316
Revises: a7c5e19b3d42
Create Date: 2026-12-07 05:00:00.000000

The persistent near-duplicate index (issue 16 point 1): each item's current stem's LSH band
keys, one row per band, so a duplicate lookup reads candidates by (band, key) instead of every
stem of the bank. The data step fills it for existing items in batches, from the stored
MinHash signatures (or the stem where none is stored).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1201d12a8316'
down_revision = 'a7c5e19b3d42'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    op.create_table('item_band',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('band', sa.SmallInteger(), nullable=False),
    sa.Column('key', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_band_item_id_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'band', name=op.f('pk_item_band'))
    )
    with op.batch_alter_table('item_band', schema=None) as batch_op:
        batch_op.create_index('ix_item_band_key', ['key', 'band'], unique=False)

    from itembank.duplicates import band_keys  # the same keys the services write

    conn = op.get_bind()
    band = sa.table('item_band', sa.column('item_id'), sa.column('band'), sa.column('key'))
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT item.id, item_version.stem_html, item_version.minhash FROM item"
            " JOIN item_version ON item_version.id = item.current_version_id"
            " WHERE item.id > :last ORDER BY item.id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        conn.execute(band.insert(), [
            {"item_id": item_id, "band": b, "key": k}
            for item_id, stem, stored in rows
            for b, k in enumerate(band_keys(stem, bytes(stored) if stored is not None else None))])
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('item_band', schema=None) as batch_op:
        batch_op.drop_index('ix_item_band_key')

    op.drop_table('item_band')
