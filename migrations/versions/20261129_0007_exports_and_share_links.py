"""Exports (immutable progress packs) and the links that share them; a plan's governance text

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 08:50:09.011842
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=7), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("audience IN ('inspectors', 'board', 'public')", name=op.f("ck_export_audience")),
        sa.CheckConstraint("format IN ('json', 'csv', 'xlsx', 'pdf', 'html')", name=op.f("ck_export_format")),
        sa.CheckConstraint(
            "status <> 'ready' OR (sha256 IS NOT NULL AND size_bytes IS NOT NULL)", name=op.f("ck_export_ready_has_content")
        ),
        sa.CheckConstraint("status IN ('pending', 'ready', 'failed')", name=op.f("ck_export_status")),
        sa.ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_export_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_export_id_partnership_id")),
    )
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_partnership_id"), ["partnership_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_plan_id_created_at"), ["plan_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_status_created_at"), ["status", "created_at"], unique=False)

    op.create_table(
        "share_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("access_count", sa.Integer(), nullable=False),
        sa.Column("last_accessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["export_id", "partnership_id"], ["export.id", "export.partnership_id"], name=op.f("fk_share_link_export_id_export")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_link_token_hash")),
    )
    with op.batch_alter_table("share_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_link_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_link_export_id"), ["export_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_link_partnership_id"), ["partnership_id"], unique=False)

    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("governance", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("governance")

    with op.batch_alter_table("share_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_link_partnership_id"))
        batch_op.drop_index(batch_op.f("ix_share_link_export_id"))
        batch_op.drop_index(batch_op.f("ix_share_link_created_at_id"))

    op.drop_table("share_link")
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_export_plan_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_export_partnership_id"))
        batch_op.drop_index(batch_op.f("ix_export_created_at_id"))

    op.drop_table("export")
