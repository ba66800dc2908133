"""plan succession: a plan's predecessor, and the action or measure a successor's row was carried from

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predecessor_id", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint("uq_plan_predecessor_id", ["predecessor_id"])
        batch_op.create_foreign_key("fk_plan_predecessor_id_plan", "plan", ["predecessor_id", "partnership_id"], ["id", "partnership_id"])
    for table in ("action", "measure"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("carried_from_id", sa.Uuid(), nullable=True))
            batch_op.create_unique_constraint(f"uq_{table}_carried_from_id", ["carried_from_id"])
            batch_op.create_foreign_key(
                f"fk_{table}_carried_from_id_{table}", table, ["carried_from_id", "partnership_id"], ["id", "partnership_id"]
            )


def downgrade() -> None:
    for table in ("measure", "action"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_carried_from_id_{table}", type_="foreignkey")
            batch_op.drop_constraint(f"uq_{table}_carried_from_id", type_="unique")
            batch_op.drop_column("carried_from_id")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_constraint("fk_plan_predecessor_id_plan", type_="foreignkey")
        batch_op.drop_constraint("uq_plan_predecessor_id", type_="unique")
        batch_op.drop_column("predecessor_id")
