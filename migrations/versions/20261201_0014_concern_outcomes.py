"""a concern's intended outcome for children and families, and its success criteria

Concerns recorded before have neither.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("concern", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intended_outcome", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("success_criteria", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("concern", schema=None) as batch_op:
        batch_op.drop_column("success_criteria")
        batch_op.drop_column("intended_outcome")
