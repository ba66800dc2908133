"""impact statements, the risk register, governance (boards, meetings, decisions, meeting actions), the co-production
log, and meeting packs

Every table is new; exports gain `since` and `meeting_id`, null for every export made before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=26), nullable=False),
        sa.Column("chair_id", sa.Uuid(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('improvement_board', 'delivery_group', 'workstream_group', 'cabinet', 'icb_board', 'scrutiny', 'health_and_wellbeing_board', 'other')",
            name=op.f("ck_board_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["chair_id", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_board_chair_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id", "partnership_id"], ["board.id", "board.partnership_id"], name=op.f("fk_board_parent_id_board")
        ),
        sa.ForeignKeyConstraint(["partnership_id"], ["partnership.id"], name=op.f("fk_board_partnership_id_partnership")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_board_id_partnership_id")),
        sa.UniqueConstraint("partnership_id", "name", name=op.f("uq_board_partnership_id_name")),
    )
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_board_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_board_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False)

    op.create_table(
        "meeting",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("board_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("apologies", sa.JSON(), nullable=False),
        sa.Column("evidence_due_on", sa.Date(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("feedback_received_on", sa.Date(), nullable=True),
        sa.Column("concern_outcomes", sa.JSON(), nullable=False),
        sa.CheckConstraint("kind <> 'board' OR board_id IS NOT NULL", name=op.f("ck_meeting_board_meeting_has_board")),
        sa.CheckConstraint(
            "kind IN ('board', 'dfe_nhse_review', 'stocktake', 'deep_dive', 'revisit', 'monitoring_visit')", name=op.f("ck_meeting_kind")
        ),
        sa.CheckConstraint("status IN ('scheduled', 'held', 'cancelled')", name=op.f("ck_meeting_status")),
        sa.CheckConstraint("evidence_due_on IS NULL OR evidence_due_on <= held_on", name=op.f("ck_meeting_evidence_before_meeting")),
        sa.ForeignKeyConstraint(
            ["board_id", "partnership_id"], ["board.id", "board.partnership_id"], name=op.f("fk_meeting_board_id_board")
        ),
        sa.ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_meeting_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_meeting_id_partnership_id")),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_board_id_held_on"), ["board_id", "held_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_plan_id_held_on"), ["plan_id", "held_on"], unique=False)

    op.create_table(
        "risk",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("consequence", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("likelihood", sa.SmallInteger(), nullable=False),
        sa.Column("impact", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("target_score", sa.SmallInteger(), nullable=True),
        sa.Column("mitigations", sa.JSON(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("last_reviewed_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=6), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_risk_status")),
        sa.CheckConstraint("impact BETWEEN 1 AND 5", name=op.f("ck_risk_impact")),
        sa.CheckConstraint("likelihood BETWEEN 1 AND 5", name=op.f("ck_risk_likelihood")),
        sa.CheckConstraint("score = likelihood * impact", name=op.f("ck_risk_score")),
        sa.CheckConstraint("target_score IS NULL OR target_score BETWEEN 1 AND 25", name=op.f("ck_risk_target_score")),
        sa.ForeignKeyConstraint(
            ["owner_id", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_risk_owner_id_person")
        ),
        sa.ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_risk_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_risk_id_partnership_id")),
        sa.UniqueConstraint("id", "plan_id", name=op.f("uq_risk_id_plan_id")),
        sa.UniqueConstraint("plan_id", "ref", name=op.f("uq_risk_plan_id_ref")),
    )
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_plan_id_created_at_id"), ["plan_id", "created_at", "id"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.CheckConstraint("status IN ('proposed', 'agreed', 'rejected', 'deferred')", name=op.f("ck_decision_status")),
        sa.ForeignKeyConstraint(
            ["meeting_id", "partnership_id"], ["meeting.id", "meeting.partnership_id"], name=op.f("fk_decision_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_decision_id_partnership_id")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False)

    op.create_table(
        "impact_statement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.Column("period_id", sa.Uuid(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("judgement", sa.String(length=21), nullable=False),
        sa.Column("judgement_reason", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "judgement IN ('sufficient_progress', 'partial_progress', 'insufficient_progress')", name=op.f("ck_impact_statement_judgement")
        ),
        sa.ForeignKeyConstraint(
            ["author_id", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_impact_statement_author_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["concern_id", "plan_id"], ["concern.id", "concern.plan_id"], name=op.f("fk_impact_statement_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["period_id", "partnership_id"],
            ["reporting_period.id", "reporting_period.partnership_id"],
            name=op.f("fk_impact_statement_period_id_reporting_period"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_impact_statement_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impact_statement")),
        sa.UniqueConstraint("concern_id", "period_id", name=op.f("uq_impact_statement_concern_id_period_id")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_impact_statement_id_partnership_id")),
    )
    with op.batch_alter_table("impact_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_impact_statement_concern_id_as_of"), ["concern_id", "as_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_impact_statement_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_impact_statement_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "meeting_action",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=7), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'done', 'dropped')", name=op.f("ck_meeting_action_status")),
        sa.ForeignKeyConstraint(
            ["meeting_id", "partnership_id"], ["meeting.id", "meeting.partnership_id"], name=op.f("fk_meeting_action_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "partnership_id"], ["person.id", "person.partnership_id"], name=op.f("fk_meeting_action_owner_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_action")),
    )
    with op.batch_alter_table("meeting_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_action_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_action_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_action_owner_id_status"), ["owner_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_meeting_action_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "risk_action",
        sa.Column("risk_id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["action_id", "plan_id"], ["action.id", "action.plan_id"], name=op.f("fk_risk_action_action_id_action")),
        sa.ForeignKeyConstraint(
            ["risk_id", "plan_id"], ["risk.id", "risk.plan_id"], name=op.f("fk_risk_action_risk_id_risk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("risk_id", "action_id", name=op.f("pk_risk_action")),
    )
    with op.batch_alter_table("risk_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_action_action_id"), ["action_id"], unique=False)

    op.create_table(
        "risk_concern",
        sa.Column("risk_id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id", "plan_id"], ["concern.id", "concern.plan_id"], name=op.f("fk_risk_concern_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["risk_id", "plan_id"], ["risk.id", "risk.plan_id"], name=op.f("fk_risk_concern_risk_id_risk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("risk_id", "concern_id", name=op.f("pk_risk_concern")),
    )
    with op.batch_alter_table("risk_concern", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_concern_concern_id"), ["concern_id"], unique=False)

    op.create_table(
        "risk_rating",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("risk_id", sa.Uuid(), nullable=False),
        sa.Column("rated_on", sa.Date(), nullable=False),
        sa.Column("likelihood", sa.SmallInteger(), nullable=False),
        sa.Column("impact", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("target_score", sa.SmallInteger(), nullable=True),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["risk_id", "partnership_id"], ["risk.id", "risk.partnership_id"], name=op.f("fk_risk_rating_risk_id_risk"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_rating")),
    )
    with op.batch_alter_table("risk_rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_rating_risk_id_created_at"), ["risk_id", "created_at"], unique=False)

    op.create_table(
        "decision_action",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id", "partnership_id"], ["action.id", "action.partnership_id"], name=op.f("fk_decision_action_action_id_action")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id", "partnership_id"],
            ["decision.id", "decision.partnership_id"],
            name=op.f("fk_decision_action_decision_id_decision"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("decision_id", "action_id", name=op.f("pk_decision_action")),
    )
    with op.batch_alter_table("decision_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_action_action_id"), ["action_id"], unique=False)

    op.create_table(
        "decision_action_reprogramme",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("reprogramme_id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id", "partnership_id"],
            ["decision.id", "decision.partnership_id"],
            name=op.f("fk_decision_action_reprogramme_decision_id_decision"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reprogramme_id"], ["action_reprogramme.id"], name=op.f("fk_decision_action_reprogramme_reprogramme_id_action_reprogramme")
        ),
        sa.PrimaryKeyConstraint("decision_id", "reprogramme_id", name=op.f("pk_decision_action_reprogramme")),
    )
    with op.batch_alter_table("decision_action_reprogramme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_action_reprogramme_reprogramme_id"), ["reprogramme_id"], unique=False)

    op.create_table(
        "decision_concern",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["concern_id"], ["concern.id"], name=op.f("fk_decision_concern_concern_id_concern")),
        sa.ForeignKeyConstraint(
            ["decision_id", "partnership_id"],
            ["decision.id", "decision.partnership_id"],
            name=op.f("fk_decision_concern_decision_id_decision"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("decision_id", "concern_id", name=op.f("pk_decision_concern")),
    )
    with op.batch_alter_table("decision_concern", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_concern_concern_id"), ["concern_id"], unique=False)

    op.create_table(
        "decision_risk",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("risk_id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id", "partnership_id"],
            ["decision.id", "decision.partnership_id"],
            name=op.f("fk_decision_risk_decision_id_decision"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["risk_id", "partnership_id"], ["risk.id", "risk.partnership_id"], name=op.f("fk_decision_risk_risk_id_risk")
        ),
        sa.PrimaryKeyConstraint("decision_id", "risk_id", name=op.f("pk_decision_risk")),
    )
    with op.batch_alter_table("decision_risk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_risk_risk_id"), ["risk_id"], unique=False)

    op.create_table(
        "engagement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("participant_count", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("you_said", sa.Text(), nullable=True),
        sa.Column("we_did", sa.Text(), nullable=True),
        sa.Column("signs_off_export_id", sa.Uuid(), nullable=True),
        sa.Column("signs_off_period_id", sa.Uuid(), nullable=True),
        sa.Column("sign_off_note", sa.Text(), nullable=True),
        sa.CheckConstraint("level IN ('inform', 'consult', 'co_design', 'co_produce')", name=op.f("ck_engagement_level")),
        sa.CheckConstraint("participant_count IS NULL OR participant_count >= 0", name=op.f("ck_engagement_participant_count")),
        sa.ForeignKeyConstraint(["plan_id", "partnership_id"], ["plan.id", "plan.partnership_id"], name=op.f("fk_engagement_plan_id_plan")),
        sa.ForeignKeyConstraint(
            ["signs_off_export_id", "partnership_id"],
            ["export.id", "export.partnership_id"],
            name=op.f("fk_engagement_signs_off_export_id_export"),
        ),
        sa.ForeignKeyConstraint(
            ["signs_off_period_id", "partnership_id"],
            ["reporting_period.id", "reporting_period.partnership_id"],
            name=op.f("fk_engagement_signs_off_period_id_reporting_period"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement")),
        sa.UniqueConstraint("id", "partnership_id", name=op.f("uq_engagement_id_partnership_id")),
        sa.UniqueConstraint("id", "plan_id", name=op.f("uq_engagement_id_plan_id")),
    )
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_engagement_partnership_id_created_at_id"), ["partnership_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_engagement_plan_id_held_on"), ["plan_id", "held_on"], unique=False)

    op.create_table(
        "impact_statement_measure",
        sa.Column("impact_statement_id", sa.Uuid(), nullable=False),
        sa.Column("measure_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["impact_statement_id"],
            ["impact_statement.id"],
            name=op.f("fk_impact_statement_measure_impact_statement_id_impact_statement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id", "plan_id"], ["measure.id", "measure.plan_id"], name=op.f("fk_impact_statement_measure_measure_id_measure")
        ),
        sa.PrimaryKeyConstraint("impact_statement_id", "measure_id", name=op.f("pk_impact_statement_measure")),
    )
    with op.batch_alter_table("impact_statement_measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_impact_statement_measure_measure_id"), ["measure_id"], unique=False)

    op.create_table(
        "engagement_action",
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id", "plan_id"], ["action.id", "action.plan_id"], name=op.f("fk_engagement_action_action_id_action")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id", "plan_id"],
            ["engagement.id", "engagement.plan_id"],
            name=op.f("fk_engagement_action_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("engagement_id", "action_id", name=op.f("pk_engagement_action")),
    )
    with op.batch_alter_table("engagement_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_action_action_id"), ["action_id"], unique=False)

    op.create_table(
        "engagement_concern",
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("concern_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id", "plan_id"], ["concern.id", "concern.plan_id"], name=op.f("fk_engagement_concern_concern_id_concern")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id", "plan_id"],
            ["engagement.id", "engagement.plan_id"],
            name=op.f("fk_engagement_concern_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("engagement_id", "concern_id", name=op.f("pk_engagement_concern")),
    )
    with op.batch_alter_table("engagement_concern", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_concern_concern_id"), ["concern_id"], unique=False)

    op.create_table(
        "impact_statement_evidence",
        sa.Column("impact_statement_id", sa.Uuid(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id", "partnership_id"],
            ["evidence.id", "evidence.partnership_id"],
            name=op.f("fk_impact_statement_evidence_evidence_id_evidence"),
        ),
        sa.ForeignKeyConstraint(
            ["impact_statement_id", "partnership_id"],
            ["impact_statement.id", "impact_statement.partnership_id"],
            name=op.f("fk_impact_statement_evidence_impact_statement_id_impact_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("impact_statement_id", "evidence_id", name=op.f("pk_impact_statement_evidence")),
    )
    with op.batch_alter_table("impact_statement_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_impact_statement_evidence_evidence_id"), ["evidence_id"], unique=False)

    op.create_table(
        "meeting_evidence",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("partnership_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id", "partnership_id"],
            ["evidence.id", "evidence.partnership_id"],
            name=op.f("fk_meeting_evidence_evidence_id_evidence"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id", "partnership_id"],
            ["meeting.id", "meeting.partnership_id"],
            name=op.f("fk_meeting_evidence_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "evidence_id", name=op.f("pk_meeting_evidence")),
    )
    with op.batch_alter_table("meeting_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_evidence_evidence_id"), ["evidence_id"], unique=False)

    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.add_column(sa.Column("since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("meeting_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_export_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_export_meeting_id_meeting"), "meeting", ["meeting_id", "partnership_id"], ["id", "partnership_id"]
        )
        batch_op.create_check_constraint(op.f("ck_export_since_before_as_of"), "since IS NULL OR since < as_of")


def downgrade() -> None:
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_export_since_before_as_of"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_export_meeting_id_meeting"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_export_meeting_id"))
        batch_op.drop_column("meeting_id")
        batch_op.drop_column("since")

    with op.batch_alter_table("meeting_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_evidence_evidence_id"))

    op.drop_table("meeting_evidence")
    with op.batch_alter_table("impact_statement_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_impact_statement_evidence_evidence_id"))

    op.drop_table("impact_statement_evidence")
    with op.batch_alter_table("engagement_concern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_concern_concern_id"))

    op.drop_table("engagement_concern")
    with op.batch_alter_table("engagement_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_action_action_id"))

    op.drop_table("engagement_action")
    with op.batch_alter_table("impact_statement_measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_impact_statement_measure_measure_id"))

    op.drop_table("impact_statement_measure")
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_plan_id_held_on"))
        batch_op.drop_index(batch_op.f("ix_engagement_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_engagement_created_at_id"))

    op.drop_table("engagement")
    with op.batch_alter_table("decision_risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_risk_risk_id"))

    op.drop_table("decision_risk")
    with op.batch_alter_table("decision_concern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_concern_concern_id"))

    op.drop_table("decision_concern")
    with op.batch_alter_table("decision_action_reprogramme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_action_reprogramme_reprogramme_id"))

    op.drop_table("decision_action_reprogramme")
    with op.batch_alter_table("decision_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_action_action_id"))

    op.drop_table("decision_action")
    with op.batch_alter_table("risk_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_rating_risk_id_created_at"))

    op.drop_table("risk_rating")
    with op.batch_alter_table("risk_concern", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_concern_concern_id"))

    op.drop_table("risk_concern")
    with op.batch_alter_table("risk_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_action_action_id"))

    op.drop_table("risk_action")
    with op.batch_alter_table("meeting_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_action_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_action_owner_id_status"))
        batch_op.drop_index(batch_op.f("ix_meeting_action_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_action_created_at_id"))

    op.drop_table("meeting_action")
    with op.batch_alter_table("impact_statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_impact_statement_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_impact_statement_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_impact_statement_concern_id_as_of"))

    op.drop_table("impact_statement")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_decision_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_decision_created_at_id"))

    op.drop_table("decision")
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_plan_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_risk_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_risk_created_at_id"))

    op.drop_table("risk")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_plan_id_held_on"))
        batch_op.drop_index(batch_op.f("ix_meeting_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_board_id_held_on"))

    op.drop_table("meeting")
    with op.batch_alter_table("board", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_partnership_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_board_created_at_id"))

    op.drop_table("board")
