"""Work that several workers share through the database: each takes a batch of due rows by moving their
`next_attempt_at` past a lease, in one short transaction (on PostgreSQL skipping rows another worker is taking), and
sends them with no transaction open. Webhook deliveries and the reporting cycle's e-mails are claimed this way."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def take(
    session: AsyncSession, table: Any, *, pending: str, now: datetime, until: datetime, batch: int, skip_locked: bool, returning: list[Any]
) -> list[Row[Any]]:
    """Lease up to `batch` rows of `table` that are `pending` and due at `now` until `until` (their version moves on);
    the `returning` columns of each."""
    due = select(table.id).where(table.status == pending, table.next_attempt_at <= now).order_by(table.next_attempt_at).limit(batch)
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(table)
        .where(table.id.in_(due))
        .values(next_attempt_at=until, version=table.version + 1)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(statement)).all())
