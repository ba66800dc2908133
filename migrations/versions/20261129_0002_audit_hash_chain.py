"""audit events form a SHA-256 hash chain; PostgreSQL refuses UPDATE and DELETE on them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:45:00
"""

from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

from app.core.audit import GENESIS, event_hash

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
"""


def _backfill() -> None:
    """Existing events get dense seq numbers and their place in the chain, in their original order."""
    bind = op.get_bind()
    events = sa.table(
        "audit_event",
        sa.column("seq", sa.BigInteger()),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.String()) for name in ("actor_type", "actor_id", "request_id", "action", "entity_type", "prev_hash", "hash")),
        *(sa.column(name, sa.Uuid()) for name in ("person_id", "entity_id", "partnership_id")),
        sa.column("changes", sa.JSON()),
    )
    rows = bind.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
    previous = GENESIS
    for number, row in enumerate(rows, start=1):
        occurred = row["occurred_at"]
        event = {**row, "seq": number, "prev_hash": previous, "occurred_at": occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)}
        digest = event_hash(event)
        bind.execute(events.update().where(events.c.seq == row["seq"]).values(seq=number, prev_hash=previous, hash=digest))
        previous = digest


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        # seq is assigned by the chain's writer, in commit order; no sequence may hand out numbers.
        op.execute("ALTER TABLE audit_event ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_event_seq_seq")
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
        op.execute("CREATE SEQUENCE audit_event_seq_seq OWNED BY audit_event.seq")
        op.execute("SELECT setval('audit_event_seq_seq', coalesce((SELECT max(seq) FROM audit_event), 0) + 1, false)")
        op.execute("ALTER TABLE audit_event ALTER COLUMN seq SET DEFAULT nextval('audit_event_seq_seq')")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
