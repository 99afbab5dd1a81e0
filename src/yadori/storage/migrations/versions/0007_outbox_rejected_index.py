"""the rejected mutations of the outbox, indexed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:30:00

The sync status counts every rejected mutation and lists the latest fifty. Without an index
both read the whole outbox, a million rows after a long outage: a partial index holds the
rejected ones only (a handful), so both read just those.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REJECTED = sa.text("result = 'rejected'")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_rejected",
        "outbox",
        ["seq"],
        unique=False,
        sqlite_where=REJECTED,
        postgresql_where=REJECTED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_rejected", table_name="outbox")
