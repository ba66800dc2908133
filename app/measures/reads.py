"""Read paths of measures (with their latest observation and derived status) and funding lines."""

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import col

from app.cases.timeliness import DEFINITION
from app.core.reads import as_date
from app.core.resources import Reader, Row, link_ids
from app.measures.trajectory import assess
from app.models import Measure, Observation, Partnership
from app.models.enums import MeasureSource
from app.partnerships.service import today_in

COMPUTED_AS = {MeasureSource.ehcp_timeliness.value: DEFINITION}


def _latest(column: Any, label: str) -> Any:
    return (
        select(column)
        # The same rule as app.progress.summary.counts_as_latest (observations of periods not yet begun are refused).
        .where(col(Observation.measure_id) == col(Measure.id), col(Observation.provisional).is_(False))
        .order_by(col(Observation.period_end_on).desc(), col(Observation.created_at).desc())
        .limit(1)
        .scalar_subquery()
        .label(label)
    )


class MeasureReader(Reader):
    """One statement per page: each measure with its latest observation and its partnership's time zone."""

    def statement(self) -> Select[Any]:
        base = super().statement()
        return (
            base.add_columns(
                _latest(col(Observation.value), "latest_value"),
                _latest(col(Observation.period_end_on), "latest_period_end_on"),
                col(Partnership.timezone).label("timezone"),
            )
            .select_from(Measure)
            .join(Partnership, col(Partnership.id) == col(Measure.partnership_id))
        )

    def shape(self, row: Row) -> Row:
        for link in self.resource.links:
            row[link.field] = link_ids(row[link.field])
        if row["latest_period_end_on"] is not None:
            row["latest_period_end_on"] = as_date(row["latest_period_end_on"])
        found = assess(row, row["latest_value"], row["latest_period_end_on"], today_in(row.pop("timezone")))
        row["status"], row["expected_value"] = found.status.value, found.expected_value
        row["computed_as"] = COMPUTED_AS.get(row["source"])
        return row


def money(value: Any) -> str:
    """A `Pence` column as the API's decimal string: SQLAlchemy hands back Decimal pounds, the direct
    PostgreSQL read path the stored whole pence."""
    pounds = value if isinstance(value, Decimal) else Decimal(int(value)) / 100
    return f"{pounds:.2f}"


class FundingReader(Reader):
    def shape(self, row: Row) -> Row:
        row["amount"] = money(row["amount"])
        return row
