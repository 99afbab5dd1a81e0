"""aggregates changed by replayed batches, published at the next pull

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 14:30:00

A recovery replays tens of batches that touch the same folios and rooms again and again;
publishing each batch's aggregates rewrote a folio's whole document once per batch. Replays now
mark what they changed here, and the next pull of the property publishes each once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_dirty",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("property_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sync_dirty")),
    )
    op.create_index("ix_sync_dirty_property", "sync_dirty", ["property_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sync_dirty_property", table_name="sync_dirty")
    op.drop_table("sync_dirty")
