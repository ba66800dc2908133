"""Progress intelligence: reprogrammes, measures and observations, funding, EHCP case events, alert thresholds

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:32:23.725491
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
        "server_secret",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secret")),
    )
    op.create_table(
        "case_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("case_key", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=19), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=1), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "type IN ('request_received', 'request_decision', 'assessment_decision', 'draft_issued', 'final_issued', 'exception', 'mediation', 'tribunal', 'transfer_in', 'review_meeting', 'review_decision')",
            name=op.f("ck_case_event_type"),
        ),
        sa.ForeignKeyConstraint(["partnership_id"], ["partnership.id"], name=op.f("fk_case_event_partnership_id_partnership")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
        sa.UniqueConstraint("partnership_id", "event_id", name=op.f("uq_case_event_partnership_id_event_id")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_partnership_id_case_key"), ["partnership_id", "case_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_event_partnership_id_type_occurred_on"), ["partnership_id", "type", "occurred_on"], unique=False
        )

    op.create_table(
        "measure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=7), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=False),
        sa.Column("baseline_on", sa.Date(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=15), nullable=False),
        sa.Column("frequency", sa.String(length=9), nullable=False),
        sa.Column("trajectory", sa.JSON(), nullable=False),
        sa.CheckConstraint("direction IN ('higher_is_better', 'lower_is_better')", name=op.f("ck_measure_direction")),
        sa.CheckConstraint("frequency IN ('weekly', 'monthly', 'quarterly', 'annual')", name=op.f("ck_measure_frequency")),
        sa.CheckConstraint("source IN ('manual', 'ehcp_timeliness', 'survey', 'audit')", name=op.f("ck_measure_source")),
        sa.CheckConstraint("unit IN ('percent', 'count', 'days', 'weeks')", name=op.f("ck_measure_unit")),
        sa.CheckConstraint("target_on > baseline_on", name=op.f("ck_measure_target_after_baseline")),
        sa.CheckConstraint("tolerance >= 0", name=op.f("ck_measure_tolerance_not_negative")),
        sa.ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_measure_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_measure_id_partnership_id")),
        sa.UniqueConstraint("id", "plan_id", name=op.f("uq_measure_id_plan_id")),
    )
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measure_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_partnership_id"), ["partnership_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "action_reprogramme",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("previous_due_on", sa.Date(), nullable=True),
        sa.Column("new_due_on", sa.Date(), nullable=True),
        sa.Column("baseline_due_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id", "partnership_id"],
            ["action.id", "action.partnership_id"],
            name=op.f("fk_action_reprogramme_action_id_action"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_reprogramme")),
    )
    with op.batch_alter_table("action_reprogramme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_reprogramme_action_id_created_at"), ["action_id", "created_at"], unique=False)

    op.create_table(
        "funding_line",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=True),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.CheckConstraint("kind IN ('allocation', 'spend')", name=op.f("ck_funding_line_kind")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_funding_line_amount_not_negative")),
        sa.ForeignKeyConstraint(["action_id", "plan_id"], ["action.id", "action.plan_id"], name=op.f("fk_funding_line_action_id_action")),
        sa.ForeignKeyConstraint(
            ["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_funding_line_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_line")),
    )
    with op.batch_alter_table("funding_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funding_line_action_id"), ["action_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_funding_line_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_funding_line_partnership_id"), ["partnership_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_funding_line_plan_id_financial_year"), ["plan_id", "financial_year"], unique=False)

    op.create_table(
        "measure_concern",
        sa.Column("measure_id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id", "plan_id"], ["concern.id", "concern.plan_id"], name=op.f("fk_measure_concern_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["measure_id", "plan_id"],
            ["measure.id", "measure.plan_id"],
            name=op.f("fk_measure_concern_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("measure_id", "concern_id", name=op.f("pk_measure_concern")),
    )
    with op.batch_alter_table("measure_concern", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measure_concern_concern_id"), ["concern_id"], unique=False)

    op.create_table(
        "observation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("measure_id", sa.Uuid(), nullable=False),
        sa.Column("period_start_on", sa.Date(), nullable=False),
        sa.Column("period_end_on", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("numerator", sa.Integer(), nullable=True),
        sa.Column("denominator", sa.Integer(), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.CheckConstraint("denominator IS NULL OR denominator >= 0", name=op.f("ck_observation_denominator_not_negative")),
        sa.CheckConstraint("numerator IS NULL OR numerator >= 0", name=op.f("ck_observation_numerator_not_negative")),
        sa.CheckConstraint("period_end_on >= period_start_on", name=op.f("ck_observation_period_in_order")),
        sa.ForeignKeyConstraint(
            ["measure_id", "partnership_id"],
            ["measure.id", "measure.partnership_id"],
            name=op.f("fk_observation_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation")),
        sa.UniqueConstraint(
            "measure_id", "period_start_on", "period_end_on", name=op.f("uq_observation_measure_id_period_start_on_period_end_on")
        ),
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observation_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_observation_measure_id_period_end_on"), ["measure_id", "period_end_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_observation_partnership_id"), ["partnership_id"], unique=False)

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_partnership_id_occurred_at"), ["partnership_id", "occurred_at"], unique=False)

    with op.batch_alter_table("partnership", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stale_after_days", sa.Integer(), server_default="30", nullable=False))
        batch_op.add_column(sa.Column("red_after_days", sa.Integer(), server_default="30", nullable=False))
        batch_op.create_check_constraint(op.f("ck_partnership_stale_after_days"), "stale_after_days >= 1")
        batch_op.create_check_constraint(op.f("ck_partnership_red_after_days"), "red_after_days >= 1")


def downgrade() -> None:
    with op.batch_alter_table("partnership", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_partnership_red_after_days"), type_="check")
        batch_op.drop_constraint(op.f("ck_partnership_stale_after_days"), type_="check")
        batch_op.drop_column("red_after_days")
        batch_op.drop_column("stale_after_days")

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_partnership_id_occurred_at"))

    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observation_partnership_id"))
        batch_op.drop_index(batch_op.f("ix_observation_measure_id_period_end_on"))
        batch_op.drop_index(batch_op.f("ix_observation_created_at_id"))

    op.drop_table("observation")
    with op.batch_alter_table("measure_concern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_concern_concern_id"))

    op.drop_table("measure_concern")
    with op.batch_alter_table("funding_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funding_line_plan_id_financial_year"))
        batch_op.drop_index(batch_op.f("ix_funding_line_partnership_id"))
        batch_op.drop_index(batch_op.f("ix_funding_line_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_funding_line_action_id"))

    op.drop_table("funding_line")
    with op.batch_alter_table("action_reprogramme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_reprogramme_action_id_created_at"))

    op.drop_table("action_reprogramme")
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_plan_id"))
        batch_op.drop_index(batch_op.f("ix_measure_partnership_id"))
        batch_op.drop_index(batch_op.f("ix_measure_created_at_id"))

    op.drop_table("measure")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_partnership_id_type_occurred_on"))
        batch_op.drop_index(batch_op.f("ix_case_event_partnership_id_case_key"))

    op.drop_table("case_event")
    op.drop_table("server_secret")
