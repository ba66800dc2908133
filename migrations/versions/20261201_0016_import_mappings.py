"""column mappings of council trackers, saved by name for the tracker import

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["partnership_id"], ["partnership.id"], name="fk_import_mapping_partnership_id_partnership"),
        sa.PrimaryKeyConstraint("id", name="pk_import_mapping"),
        sa.UniqueConstraint("partnership_id", "name", name="uq_import_mapping_partnership_id_name"),
    )
    op.create_index("ix_import_mapping_created_at_id", "import_mapping", ["created_at", "id"])
    op.create_index("ix_import_mapping_partnership_id_created_at_id", "import_mapping", ["partnership_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_import_mapping_partnership_id_created_at_id", table_name="import_mapping")
    op.drop_index("ix_import_mapping_created_at_id", table_name="import_mapping")
    op.drop_table("import_mapping")
