"""Lists of one partnership read their page from an index: (partnership_id, created_at, id) replaces (partnership_id)

A partnership's key lists its rows `WHERE partnership_id = ? ORDER BY created_at, id LIMIT n`. With only
(partnership_id) and (created_at, id) indexes, PostgreSQL walked the (created_at, id) index past every
other partnership's rows: 31 ms for the last of 200 partnerships at 100,000 actions (`bench.scale`).
The composite index also serves every lookup by partnership_id alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "action", "api_key", "concern", "evidence", "export", "funding_line", "inspection", "measure", "milestone",
    "observation", "organisation", "person", "plan", "progress_update", "share_link", "webhook_subscription",
)  # fmt: skip


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_partnership_id"))
            batch_op.create_index(
                batch_op.f(f"ix_{table}_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_partnership_id_created_at_id"))
            batch_op.create_index(batch_op.f(f"ix_{table}_partnership_id"), ["partnership_id"], unique=False)
