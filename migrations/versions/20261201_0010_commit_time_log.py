"""the logs are appended by one statement at commit: wsoa_append_log(), hash format 2, change.plan_id and
event_type, a change-feed cursor per webhook subscription, and PostgreSQL refuses TRUNCATE of the audit trail

See app.core.log and app.core.audit. Events already in the chain keep format 1 and stay verifiable.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One call appends everything a transaction logs. The advisory lock (app.core.log.CHAIN_LOCK) is taken here, as
# the transaction's last statement, and released by its COMMIT: seq order is commit order, and no other
# statement of any write waits for it. The link hash is the one app.core.audit.link_hash computes.
APPEND_FUNCTION = """
CREATE FUNCTION wsoa_append_log(p_events jsonb, p_changes jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_hash text;
    v_next text;
    v_at timestamptz;
    v_now timestamptz;
    v_change bigint;
    e jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(8607345776872744052);
    v_now := clock_timestamp();  -- read under the lock, so occurred_at follows seq
    IF jsonb_array_length(p_events) > 0 THEN
        SELECT seq, hash INTO v_seq, v_hash FROM audit_event ORDER BY seq DESC LIMIT 1;
        IF NOT FOUND THEN
            v_seq := 0;
            v_hash := repeat('0', 64);
        END IF;
        FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
            v_seq := v_seq + 1;
            v_at := coalesce((e->>'occurred_at')::timestamptz, v_now);
            v_next := encode(sha256(convert_to(
                v_hash || ':' || v_seq || ':' || to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                || ':' || (e->>'content_hash'), 'UTF8')), 'hex');
            INSERT INTO audit_event (seq, occurred_at, actor_type, actor_id, person_id, request_id, action, entity_type,
                                     entity_id, partnership_id, changes, prev_hash, hash, hash_format)
            VALUES (v_seq, v_at, e->>'actor_type', e->>'actor_id', (e->>'person_id')::uuid, e->>'request_id', e->>'action',
                    e->>'entity_type', (e->>'entity_id')::uuid, (e->>'partnership_id')::uuid, (e->'changes')::json,
                    v_hash, v_next, 2);
            v_hash := v_next;
        END LOOP;
    END IF;
    IF jsonb_array_length(p_changes) > 0 THEN
        SELECT coalesce(max(seq), 0) INTO v_change FROM change;
        INSERT INTO change (seq, occurred_at, entity_type, entity_id, action, version, partnership_id, plan_id, event_type)
        SELECT v_change + t.n, v_now, t.c->>'entity_type', (t.c->>'entity_id')::uuid, t.c->>'action', (t.c->>'version')::int,
               (t.c->>'partnership_id')::uuid, (t.c->>'plan_id')::uuid, t.c->>'event_type'
        FROM jsonb_array_elements(p_changes) WITH ORDINALITY AS t(c, n);
    END IF;
    RETURN v_seq;
END
$$
"""
NO_TRUNCATE_FUNCTION = """
CREATE FUNCTION audit_event_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: TRUNCATE refused' USING ERRCODE = 'insufficient_privilege';
END
$$
"""
NO_TRUNCATE_TRIGGER = (
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION audit_event_no_truncate()"
)


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash_format", sa.SmallInteger(), nullable=False, server_default="1"))
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("event_type", sa.String(length=60), nullable=True))
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_cursor", sa.BigInteger(), nullable=False, server_default="0"))
    # Subscriptions already had their deliveries written with each change: they go on from the feed's end.
    op.execute("UPDATE webhook_subscription SET change_cursor = (SELECT coalesce(max(seq), 0) FROM change)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_FUNCTION)
        op.execute(NO_TRUNCATE_FUNCTION)
        op.execute(NO_TRUNCATE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_no_truncate()")
        op.execute("DROP FUNCTION IF EXISTS wsoa_append_log(jsonb, jsonb)")
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_column("change_cursor")
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.drop_column("event_type")
        batch_op.drop_column("plan_id")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("hash_format")
