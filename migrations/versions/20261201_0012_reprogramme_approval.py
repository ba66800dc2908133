"""a reprogramme may name the decision that approved it (approved_at_meeting: a meeting or a reference)

Reprogrammes recorded before have none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_reprogramme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_at_meeting", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_reprogramme", schema=None) as batch_op:
        batch_op.drop_column("approved_at_meeting")
