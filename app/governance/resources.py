"""The governance collections: boards, meetings (and external reviews), decisions and meeting actions."""

from typing import Any

from sqlalchemy import Select, select
from sqlmodel import col

from app.core.permissions import PLAN_EDITORS, REPORTERS, Access
from app.core.resources import Link, Reader, Ref, Resource, Row, Unique
from app.governance import schemas as s
from app.governance.service import BoardRules, DecisionRules, MeetingActionRules, MeetingRules, forum_present, is_late
from app.models import (
    Action,
    ActionReprogramme,
    Board,
    Concern,
    Decision,
    DecisionAction,
    DecisionConcern,
    DecisionReprogramme,
    DecisionRisk,
    Evidence,
    Meeting,
    MeetingAction,
    MeetingPaper,
    Partnership,
    Person,
    Plan,
    Risk,
)
from app.partnerships.service import today_in

EDITED_BY_LEADS = Access(create=PLAN_EDITORS, update=PLAN_EDITORS, delete=PLAN_EDITORS)
PLAN = Ref("plan_id", Plan, "plan")
BOARD = Ref("board_id", Board, "board")
MEETING = Ref("meeting_id", Meeting, "meeting")


class MeetingReader(Reader):
    def shape(self, row: Row) -> Row:
        row = super().shape(row)
        row["parent_carer_forum_present"] = forum_present(row["attendees"])
        return row


class MeetingActionReader(Reader):
    """Meeting actions with `is_overdue` against their partnership's today."""

    def statement(self) -> Select[Any]:
        zone = select(col(Partnership.timezone)).where(col(Partnership.id) == col(MeetingAction.partnership_id)).scalar_subquery()
        return super().statement().add_columns(zone.label("timezone"))

    def shape(self, row: Row) -> Row:
        row = super().shape(row)
        row["is_overdue"] = is_late(row, today_in(row.pop("timezone")))
        return row


boards = Resource(
    path="boards",
    entity="board",
    tag="governance",
    table=Board,
    create=s.BoardCreate,
    update=s.BoardUpdate,
    read=s.BoardRead,
    query=s.BoardQuery,
    access=EDITED_BY_LEADS,
    parents=(Ref("partnership_id", Partnership, "partnership"),),
    refs=(Ref("chair_id", Person, "person"), Ref("parent_id", Board, "board")),
    unique=(Unique("name", ("partnership_id",)),),
    rules=BoardRules(),
    description="The partnership's governance bodies: improvement board, Delivery Group, workstream groups, Cabinet, ICB "
    "board, scrutiny, Health and Wellbeing Board; each with its chair, the body it reports to and its members, each member "
    "with whom they represent (`representing`: the parent carer forum, health, schools...).",
    create_example={
        "partnership_id": s.PARTNERSHIP_ID,
        "name": "SEND Delivery Group",
        "kind": "delivery_group",
        "chair_id": s.CHAIR_ID,
        "members": [
            {"person_id": s.CHAIR_ID, "representing": "elected_member", "role": "Chair, Cabinet Member for Children"},
            {"person_id": s.FORUM_ID, "representing": "parent_carer_forum", "role": "Parent carer forum co-chair"},
        ],
    },
    update_example={"chair_id": s.FORUM_ID},
)

meetings = Resource(
    path="meetings",
    entity="meeting",
    tag="governance",
    table=Meeting,
    create=s.MeetingCreate,
    update=s.MeetingUpdate,
    state=s.MeetingCreate,
    read=s.MeetingRead,
    query=s.MeetingQuery,
    access=EDITED_BY_LEADS,
    parents=(BOARD, PLAN),
    refs=(PLAN,),
    links=(Link("paper_ids", MeetingPaper, "evidence_id", Evidence, "evidence item", owner="meeting_id"),),
    filters={"held_after": lambda v: col(Meeting.held_on) > v, "held_before": lambda v: col(Meeting.held_on) < v},
    rules=MeetingRules(),
    reader=None,
    description="A meeting of one of the partnership's bodies (`kind: board`, with its `board_id`), or an external review "
    "of a plan (`dfe_nhse_review`, `stocktake`, `deep_dive`, `revisit`, `monitoring_visit`, with its `plan_id`). Attendees "
    "and apologies name the partnership's people (or a guest by name) and whom each represents, so "
    "`parent_carer_forum_present` answers whether the forum was in the room; papers are evidence items. An external "
    "review's evidence is due `evidence_due_on` (for DfE and NHS England reviews, stocktakes and deep dives, default 14 days "
    "before it, or the working day before that; moving with "
    "it), and it records the feedback received and its outcome per concern of the plan, once held. A meeting is `held`, and "
    "its feedback received, no later than today (422). `POST /meetings/{id}/pack` makes the meeting's pack.",
    create_example={
        "plan_id": s.PLAN_ID,
        "kind": "dfe_nhse_review",
        "title": "Fifth DfE and NHS England review meeting",
        "held_on": "2026-11-24",
        "attendees": [{"name": "DfE SEND adviser", "representing": "dfe"}, {"person_id": s.FORUM_ID, "representing": "parent_carer_forum"}],
    },
    update_example={"status": "held", "feedback_received_on": "2026-12-01", "feedback": "Sufficient progress on timeliness."},
)
meetings.reader = MeetingReader(meetings)


def _linked(table: Any, column: str) -> Any:
    return lambda v: col(Decision.id).in_(select(table.decision_id).where(getattr(table, column) == v))


decisions = Resource(
    path="decisions",
    entity="decision",
    tag="governance",
    table=Decision,
    create=s.DecisionCreate,
    update=s.DecisionUpdate,
    read=s.DecisionRead,
    query=s.DecisionQuery,
    access=EDITED_BY_LEADS,
    parents=(MEETING,),
    links=(
        Link("action_ids", DecisionAction, "action_id", Action, "action", owner="decision_id"),
        Link("concern_ids", DecisionConcern, "concern_id", Concern, "concern", owner="decision_id"),
        Link("risk_ids", DecisionRisk, "risk_id", Risk, "risk", owner="decision_id"),
        Link("reprogramme_ids", DecisionReprogramme, "reprogramme_id", ActionReprogramme, "reprogramme", owner="decision_id"),
    ),
    rules=DecisionRules(),
    filters={
        "plan_id": lambda v: col(Decision.meeting_id).in_(select(col(Meeting.id)).where(col(Meeting.plan_id) == v)),
        "action_id": _linked(DecisionAction, "action_id"),
        "concern_id": _linked(DecisionConcern, "concern_id"),
        "risk_id": _linked(DecisionRisk, "risk_id"),
    },
    description="What a meeting decided, or is asked to decide (`proposed`: the decisions due, listed in its pack), and the "
    "actions, concerns, risks and reprogrammes it bears on. A decision is `agreed`, `rejected` or `deferred` only at a meeting "
    "that has been held (409 before).",
    create_example={
        "meeting_id": s.MEETING_ID,
        "text": "Approved moving action 1.3 to 31 March: the EP recruitment round failed.",
        "action_ids": [s.ACTION_ID],
    },
    update_example={"status": "deferred"},
)

meeting_actions = Resource(
    path="meeting-actions",
    entity="meeting_action",
    tag="governance",
    table=MeetingAction,
    create=s.MeetingActionCreate,
    update=s.MeetingActionUpdate,
    read=s.MeetingActionRead,
    query=s.MeetingActionQuery,
    access=Access(create=PLAN_EDITORS, update=REPORTERS, delete=PLAN_EDITORS),
    parents=(MEETING,),
    refs=(Ref("owner_id", Person, "person"),),
    filters={"plan_id": lambda v: col(MeetingAction.meeting_id).in_(select(col(Meeting.id)).where(col(Meeting.plan_id) == v))},
    rules=MeetingActionRules(),
    reader=None,
    description="What a meeting asked someone to do by a date. Open ones show in their owner's work (`GET /me/meeting-actions`); "
    "one open past its due date is `is_overdue` and an alert on the meeting's plan (`meeting_action_overdue`). A "
    "contributor may mark its own done (`status`, `completed_on`, `note`); `completed_on` defaults to the day it is done and "
    "is never after today; `due_on` is never before the meeting.",
    create_example={
        "meeting_id": s.MEETING_ID,
        "title": "Bring the EP recruitment options paper to the next meeting",
        "owner_id": s.CHAIR_ID,
        "due_on": "2026-12-08",
    },
    update_example={"status": "done"},
)
meeting_actions.reader = MeetingActionReader(meeting_actions)
