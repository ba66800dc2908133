"""Which inspection framework a plan answers, and the kinds of plan and concern that belong to it (Ofsted and the CQC's
local area SEND inspection of 2016-2022 and area SEND inspection from 2023).

- The local area SEND inspection of 2016–2022 (`las_2016`) reported "areas of significant weakness"; the
  local area answered them with a Written Statement of Action (`wsoa`) and, when a revisit found too little
  progress, DfE and NHS England required an accelerated progress plan (`accelerated_progress_plan`, which
  follows a `las_2016` revisit).
- The area SEND inspection from 2023 (`area_send_2023`) reports "areas for priority action", which outcome 3
  answers with a priority action plan (`priority_action_plan`), and may list "areas for improvement".
- An `improvement_plan` (a local strategic plan) may answer an inspection of either framework, or none.
- A `recommendation` may sit in any plan.

A plan answers its inspection's framework; without an inspection, the framework its kind implies (none for an
improvement plan). A plan or concern that contradicts this is refused with a 422 naming the field, and nothing
changes. Every write path (plans, concerns, an inspection's framework) asks this module, so the rule lives here.
"""

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import FieldError, Unprocessable
from app.core.resources import Row, Rules
from app.models import Concern, Inspection, Plan
from app.models.enums import ConcernKind, Framework, PlanKind

# The framework whose inspection each kind of plan answers (None: any, or none).
PLAN_FRAMEWORK: dict[PlanKind, Framework | None] = {
    PlanKind.wsoa: Framework.las_2016,
    PlanKind.accelerated_progress_plan: Framework.las_2016,
    PlanKind.priority_action_plan: Framework.area_send_2023,
    PlanKind.improvement_plan: None,
}
# The framework whose reports use each kind of concern (None: any plan may hold it).
CONCERN_FRAMEWORK: dict[ConcernKind, Framework | None] = {
    ConcernKind.area_of_significant_weakness: Framework.las_2016,
    ConcernKind.area_for_priority_action: Framework.area_send_2023,
    ConcernKind.area_for_improvement: Framework.area_send_2023,
    ConcernKind.recommendation: None,
}


class FrameworkMismatch(Unprocessable):
    type, title = "/problems/framework-mismatch", "Plan kind, concern kinds and inspection framework disagree"


def answered(plan_kind: str, inspection_framework: str | None) -> Framework | None:
    """The framework a plan answers: its inspection's, else the one its kind implies."""
    if inspection_framework is not None:
        return Framework(inspection_framework)
    return PLAN_FRAMEWORK[PlanKind(plan_kind)]


def plan_error(plan_kind: str, inspection_framework: str | None, pointer: str) -> FieldError | None:
    """The plan's kind against its inspection's framework."""
    wanted = PLAN_FRAMEWORK[PlanKind(plan_kind)]
    if wanted is None or inspection_framework is None or wanted == inspection_framework:
        return None
    return FieldError(
        pointer=pointer,
        message=f"a plan of kind {PlanKind(plan_kind).value} answers an inspection of the {wanted.value} framework; "
        f"the inspection is {Framework(inspection_framework).value}",
    )


def concern_error(concern_kind: str, framework: Framework | None, pointer: str, *, ref: str | None = None) -> FieldError | None:
    """A concern's kind against the framework its plan answers (`ref` names a stored concern in the message)."""
    wanted = CONCERN_FRAMEWORK[ConcernKind(concern_kind)]
    if wanted is None or wanted == framework:
        return None
    kind = ConcernKind(concern_kind).value
    subject = f"concern {ref} ({kind})" if ref is not None else f"a concern of kind {kind}"
    answers = framework.value if framework is not None else "no inspection framework"
    return FieldError(
        pointer=pointer,
        message=f"{subject} belongs only to a plan answering an inspection of the {wanted.value} framework; the plan answers {answers}",
    )


def _raise(errors: Iterable[FieldError | None]) -> None:
    found = [e for e in errors if e is not None]
    if found:
        raise FrameworkMismatch(
            "The plan's kind, its concerns' kinds and its inspection's framework must agree: a wsoa or an accelerated progress "
            "plan answers a las_2016 inspection, a priority action plan an area_send_2023 inspection.",
            errors=found,
        )


async def plan_framework(
    session: AsyncSession, plan_kind: str, inspection_id: uuid.UUID | None, partnership_id: uuid.UUID
) -> Framework | None:
    """The framework a plan of `plan_kind` answering `inspection_id` answers (`answered`, its inspection read here)."""
    return answered(plan_kind, await _inspection_framework(session, inspection_id, partnership_id))


async def _inspection_framework(session: AsyncSession, inspection_id: uuid.UUID | None, partnership_id: uuid.UUID) -> str | None:
    """The framework of the partnership's inspection (None for none, or for another partnership's: the reference check
    refuses that one without revealing it)."""
    if inspection_id is None:
        return None
    found: str | None = (
        await session.execute(
            select(col(Inspection.framework)).where(col(Inspection.id) == inspection_id, col(Inspection.partnership_id) == partnership_id)
        )
    ).scalar_one_or_none()
    return found


async def check_plan(
    session: AsyncSession, *, values: Row, plan_id: uuid.UUID | None = None, changed: frozenset[str] = frozenset()
) -> None:
    """A new or changed plan (`values`: its `partnership_id`, `kind` and `inspection_id` after the change) against its
    inspection and, for a stored plan, its concerns. Errors point at the field that changed (`kind` on create)."""
    pointer = "/inspection_id" if "inspection_id" in changed and "kind" not in changed else "/kind"
    inspection_framework = await _inspection_framework(session, values.get("inspection_id"), values["partnership_id"])
    errors = [plan_error(values["kind"], inspection_framework, pointer)]
    if plan_id is not None:
        framework = answered(values["kind"], inspection_framework)
        concerns = await session.execute(
            select(col(Concern.ref), col(Concern.kind)).where(col(Concern.plan_id) == plan_id).order_by(col(Concern.ref))
        )
        errors += [concern_error(kind, framework, pointer, ref=ref) for ref, kind in concerns]
    _raise(errors)


async def check_concern(session: AsyncSession, *, plan_id: uuid.UUID, kind: str) -> None:
    """A new concern, or a concern's new kind, against the framework its plan answers."""
    plan_kind, inspection_framework = (
        await session.execute(
            select(col(Plan.kind), col(Inspection.framework))
            .select_from(Plan)
            .outerjoin(Inspection, col(Inspection.id) == col(Plan.inspection_id))
            .where(col(Plan.id) == plan_id)
        )
    ).one()
    _raise([concern_error(kind, answered(plan_kind, inspection_framework), "/kind")])


async def check_inspection(session: AsyncSession, *, inspection_id: uuid.UUID, framework: str) -> None:
    """An inspection's new framework against every plan answering it and those plans' concerns."""
    plans = (
        await session.execute(
            select(col(Plan.id), col(Plan.kind), col(Plan.title)).where(col(Plan.inspection_id) == inspection_id).order_by(col(Plan.title))
        )
    ).all()
    if not plans:
        return
    errors: list[FieldError | None] = []
    titles = {p.id: p.title for p in plans}
    for plan in plans:
        error = plan_error(plan.kind, framework, "/framework")
        if error is not None:
            errors.append(FieldError(pointer=error.pointer, message=f"plan {plan.title!r}: {error.message}"))
    concerns = await session.execute(
        select(col(Concern.plan_id), col(Concern.ref), col(Concern.kind))
        .where(col(Concern.plan_id).in_(list(titles)))
        .order_by(col(Concern.plan_id), col(Concern.ref))
    )
    for plan_id, ref, kind in concerns:
        error = concern_error(kind, Framework(framework), "/framework", ref=ref)
        if error is not None:
            errors.append(FieldError(pointer=error.pointer, message=f"plan {titles[plan_id]!r}: {error.message}"))
    _raise(errors)


class InspectionRules(Rules):
    """An inspection's framework may change only while the plans answering it still agree with it."""

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if "framework" in changes:
            await check_inspection(session, inspection_id=current["id"], framework=changes["framework"])
