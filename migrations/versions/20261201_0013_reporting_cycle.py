"""the monthly reporting cycle: reporting periods, action returns, notifications and one-time return links; a plan's
senior responsible officer and reporting schedule

Plans recorded before have neither; their periods are opened by a lead until a schedule is set.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reporting_period",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("returns_due_on", sa.Date(), nullable=False),
        sa.Column("meeting_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=6), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_reporting_period_status")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_reporting_period_ends_after_start")),
        sa.CheckConstraint("meeting_on IS NULL OR meeting_on >= returns_due_on", name=op.f("ck_reporting_period_meeting_after_due")),
        sa.CheckConstraint("returns_due_on >= starts_on", name=op.f("ck_reporting_period_due_after_start")),
        sa.ForeignKeyConstraint(
            ["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_reporting_period_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_period")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_reporting_period_id_partnership_id")),
        sa.UniqueConstraint("plan_id", "starts_on", name=op.f("uq_reporting_period_plan_id_starts_on")),
    )
    with op.batch_alter_table("reporting_period", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reporting_period_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reporting_period_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reporting_period_status_returns_due_on"), ["status", "returns_due_on"], unique=False)

    op.create_table(
        "action_return",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("period_id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("returns_due_on", sa.Date(), nullable=False),
        sa.Column("proposed_rag", sa.String(length=5), nullable=True),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("percent_complete", sa.Integer(), nullable=True),
        sa.Column("blockers", sa.Text(), nullable=True),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.Column("proposed_forecast_on", sa.Date(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.Uuid(), nullable=True),
        sa.Column("progress_update_id", sa.Uuid(), nullable=True),
        sa.Column("missed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agreed_rag", sa.String(length=5), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "agreed_rag IS NULL OR agreed_rag IN ('red', 'amber', 'green', 'blue')", name=op.f("ck_action_return_agreed_rag")
        ),
        sa.CheckConstraint(
            "proposed_rag IS NULL OR proposed_rag IN ('red', 'amber', 'green', 'blue')", name=op.f("ck_action_return_proposed_rag")
        ),
        sa.CheckConstraint("status IN ('expected', 'submitted', 'accepted', 'returned', 'missed')", name=op.f("ck_action_return_status")),
        sa.CheckConstraint(
            "percent_complete IS NULL OR (percent_complete >= 0 AND percent_complete <= 100)",
            name=op.f("ck_action_return_percent_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["action_id", "partnership_id"], ["action.id", "action.partnership_id"], name=op.f("fk_action_return_action_id_action")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_action_return_owner_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["period_id", "partnership_id"],
            ["reporting_period.id", "reporting_period.partnership_id"],
            name=op.f("fk_action_return_period_id_reporting_period"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_action_return_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["progress_update_id"], ["progress_update.id"], name=op.f("fk_action_return_progress_update_id_progress_update")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_action_return_submitted_by_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_return")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_action_return_id_partnership_id")),
        sa.UniqueConstraint("period_id", "action_id", name=op.f("uq_action_return_period_id_action_id")),
    )
    with op.batch_alter_table("action_return", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_return_action_id_created_at"), ["action_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_return_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_return_owner_id_status"), ["owner_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_action_return_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("return_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=7), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('reminder', 'due_today', 'overdue', 'escalation', 'sent_back')", name=op.f("ck_notification_kind")),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name=op.f("ck_notification_status")),
        sa.ForeignKeyConstraint(
            ["person_id", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_notification_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["return_id", "partnership_id"],
            ["action_return.id", "action_return.partnership_id"],
            name=op.f("fk_notification_return_id_action_return"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_dedupe_key")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_return_id"), ["return_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_status_next_attempt_at"), ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "return_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_return_link_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["return_id", "partnership_id"],
            ["action_return.id", "action_return.partnership_id"],
            name=op.f("fk_return_link_return_id_action_return"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_return_link_token_hash")),
    )
    with op.batch_alter_table("return_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_link_return_id"), ["return_id"], unique=False)

    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("senior_responsible_officer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("reporting_schedule", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_plan_senior_responsible_officer_id"), ["senior_responsible_officer_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_plan_senior_responsible_officer_id_person"),
            "person",
            ["senior_responsible_officer_id", "partnership_id"],
            ["id", "partnership_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_plan_senior_responsible_officer_id_person"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_plan_senior_responsible_officer_id"))
        batch_op.drop_column("reporting_schedule")
        batch_op.drop_column("senior_responsible_officer_id")

    with op.batch_alter_table("return_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_link_return_id"))

    op.drop_table("return_link")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notification_return_id"))
        batch_op.drop_index(batch_op.f("ix_notification_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_notification_created_at_id"))

    op.drop_table("notification")
    with op.batch_alter_table("action_return", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_return_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_action_return_owner_id_status"))
        batch_op.drop_index(batch_op.f("ix_action_return_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_action_return_action_id_created_at"))

    op.drop_table("action_return")
    with op.batch_alter_table("reporting_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reporting_period_status_returns_due_on"))
        batch_op.drop_index(batch_op.f("ix_reporting_period_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_reporting_period_created_at_id"))

    op.drop_table("reporting_period")
