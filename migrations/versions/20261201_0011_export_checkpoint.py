"""an export records the newest signed audit checkpoint when it was requested (checkpoint_seq, checkpoint_hash)

See app.audit.checkpoints. Exports made before have neither.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkpoint_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.drop_column("checkpoint_hash")
        batch_op.drop_column("checkpoint_seq")
