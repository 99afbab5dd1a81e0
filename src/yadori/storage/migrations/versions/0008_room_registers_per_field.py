"""a room's condition and service as registers of their own

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:10:00

Decision 0067. Each register starts as the room's whole register was (its version and last
writer), so a write queued before the upgrade, based on the room as it stood, is still based on
the current state. On central (where the feed holds the room) every room is marked for the
next pull to publish again: a document published before the upgrade lacks the registers, and an
edge pulling it would take their defaults instead of central's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AXES = ("condition", "service")


def upgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        for axis in AXES:
            batch_op.add_column(
                sa.Column(f"{axis}_version", sa.Integer(), server_default="1", nullable=False)
            )
            batch_op.add_column(
                sa.Column(f"{axis}_priority", sa.Integer(), server_default="0", nullable=False)
            )
            batch_op.add_column(
                sa.Column(f"{axis}_hlc", sa.String(length=96), server_default="", nullable=False)
            )
            batch_op.add_column(
                sa.Column(f"{axis}_node", sa.String(length=64), server_default="", nullable=False)
            )
    for axis in AXES:
        op.execute(
            f"UPDATE rooms SET {axis}_version = version, {axis}_priority = stamp_priority, "  # noqa: S608 - fixed names
            f"{axis}_hlc = stamp_hlc, {axis}_node = stamp_node"
        )
    op.execute(
        "INSERT INTO sync_dirty (key, property_id) "
        "SELECT rooms.property_id || '/room:' || rooms.id, rooms.property_id FROM rooms "
        "WHERE EXISTS (SELECT 1 FROM sync_feed "
        "WHERE sync_feed.key = rooms.property_id || '/room:' || rooms.id) "
        "AND NOT EXISTS (SELECT 1 FROM sync_dirty "
        "WHERE sync_dirty.key = rooms.property_id || '/room:' || rooms.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        for axis in reversed(AXES):
            for name in ("node", "hlc", "priority", "version"):
                batch_op.drop_column(f"{axis}_{name}")
