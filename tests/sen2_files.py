"""SEN2 person-level files built to the DfE's specification (XML) and the import's CSV, for the tests.

A `Child` holds the personal details an SEN2 return carries (all invented) and its requests; `xml_of` writes the
`Message` a case system would export, with every module's items in the specification's order (placements and needs
included, which the import does not read), and `csv_of` the one-row-per-request extract.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape


@dataclass
class Request:
    received: date | None
    decision: tuple[str, date | None] | None = None  # RequestOutcome, RequestOutcomeDate
    assessment: tuple[str, date | None] | None = None  # AssessmentOutcome, AssessmentOutcomeDate
    week20: bool = False
    exception_reason: str | None = None  # CSV only
    request_mediation: bool = False
    request_tribunal: bool = False
    assessment_mediation: bool = False
    assessment_tribunal: bool = False
    other_tribunal: bool = False
    draft: date | None = None  # CSV only
    start: date | None = None
    cease: date | None = None
    transfer_la: str | None = None
    review_meeting: date | None = None
    review: tuple[str, date | None] | None = None  # ReviewOutcome, LastReview


@dataclass
class Child:
    surname: str
    forename: str
    birth: date
    upn: str
    postcode: str = "ZZ99 3WZ"
    person_id: str = ""
    requests: list[Request] = field(default_factory=list)


def _d(day: date | None) -> str:
    return day.isoformat() if day else ""


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _item(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>" if value else ""


def xml_of(children: list[Child], lea: str = "990", year: int = 2026) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<Message>",
        "  <Header>",
        f"    <CollectionDetails><Collection>SEN2</Collection><Year>{year}</Year><ReferenceDate>{year}-01-15</ReferenceDate>"
        "</CollectionDetails>",
        f"    <Source><SourceLevel>L</SourceLevel><LEA>{lea}</LEA><SoftwareCode>Case system</SoftwareCode><Release>4.2</Release>"
        "<SerialNo>1</SerialNo><DateTime>2026-01-16T09:30:00</DateTime></Source>",
        "  </Header>",
        "  <Persons>",
    ]
    for child in children:
        out.append("    <Person>")
        out.append(
            "      "
            + _item("Surname", child.surname)
            + _item("Forename", child.forename)
            + _item("PersonBirthDate", child.birth.isoformat())
            + "<Sex>F</Sex><Ethnicity>WBRI</Ethnicity>"
            + _item("PostCode", child.postcode)
            + _item("UPN", child.upn)
        )
        for r in child.requests:
            out.append("      <Requests>")
            out.append(
                "        "
                + _item("ReceivedDate", _d(r.received))
                + "<RequestSource>1</RequestSource><RYA>0</RYA>"
                + (_item("RequestOutcomeDate", _d(r.decision[1])) + _item("RequestOutcome", r.decision[0]) if r.decision else "")
                + f"<RequestMediation>{_flag(r.request_mediation)}</RequestMediation>"
                + f"<RequestTribunal>{_flag(r.request_tribunal)}</RequestTribunal>"
            )
            if r.assessment or r.start or r.week20:
                code, on = r.assessment or ("", None)
                out.append(
                    "        <Assessment>"
                    + _item("AssessmentOutcome", code)
                    + _item("AssessmentOutcomeDate", _d(on))
                    + f"<AssessmentMediation>{_flag(r.assessment_mediation)}</AssessmentMediation>"
                    + f"<AssessmentTribunal>{_flag(r.assessment_tribunal)}</AssessmentTribunal>"
                    + f"<OtherMediation>0</OtherMediation><OtherTribunal>{_flag(r.other_tribunal)}</OtherTribunal>"
                    + f"<Week20>{_flag(r.week20)}</Week20>"
                )
                if r.start:
                    out.append(
                        "          <NamedPlan>"
                        + _item("StartDate", _d(r.start))
                        + "<PlanRes>A</PlanRes><PB>0</PB>"
                        + _item("CeaseDate", _d(r.cease))
                        + ("<CeaseReason>2</CeaseReason>" if r.cease else "")
                        + "<PlanDetail><URN>100000</URN><SENSetting></SENSetting><PlacementRank>1</PlacementRank>"
                        "<SENunitIndicator>0</SENunitIndicator><ResourcedProvisionIndicator>0</ResourcedProvisionIndicator></PlanDetail>"
                        "</NamedPlan>"
                    )
                out.append("        </Assessment>")
            if r.start and not r.cease:
                review_code, review_on = r.review or ("", None)
                out.append(
                    "        <ActivePlans>"
                    + _item("TransferLA", r.transfer_la or "")
                    + _item("ReviewMeeting", _d(r.review_meeting))
                    + _item("ReviewOutcome", review_code)
                    + _item("LastReview", _d(review_on))
                    + "<PlacementDetail><URN>100000</URN><PlacementRank>1</PlacementRank><EntryDate>2020-09-01</EntryDate></PlacementDetail>"
                    "<SENneed><SENtype>ASD</SENtype><SENtypeRank>1</SENtypeRank></SENneed></ActivePlans>"
                )
            out.append("      </Requests>")
        out.append("    </Person>")
    out += ["  </Persons>", "</Message>", ""]
    return "\n".join(out).encode()


CSV_HEADER = ["Surname", "Forename", "PersonBirthDate", "PersonID", "ReceivedDate", "RequestOutcomeDate", "RequestOutcome",
              "RequestMediation", "RequestTribunal", "AssessmentOutcomeDate", "AssessmentOutcome", "AssessmentMediation",
              "AssessmentTribunal", "Week20", "ExceptionReason", "DraftDate", "StartDate", "CeaseDate", "TransferLA",
              "ReviewMeeting", "ReviewOutcome", "LastReview"]  # fmt: skip


def csv_of(children: list[Child], *, by_id: bool = False, uk_dates: bool = False) -> bytes:
    """One row per request; the person by `PersonID` (`by_id`) or by name and date of birth."""

    def d(day: date | None) -> str:
        return (day.strftime("%d/%m/%Y") if uk_dates else day.isoformat()) if day else ""

    header = [c for c in CSV_HEADER if (c == "PersonID") == by_id or c not in ("Surname", "Forename", "PersonBirthDate", "PersonID")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for child in children:
        for r in child.requests:
            row = {
                "Surname": child.surname,
                "Forename": child.forename,
                "PersonBirthDate": d(child.birth),
                "PersonID": child.person_id,
                "ReceivedDate": d(r.received),
                "RequestOutcomeDate": d(r.decision[1]) if r.decision else "",
                "RequestOutcome": r.decision[0] if r.decision else "",
                "RequestMediation": _flag(r.request_mediation),
                "RequestTribunal": _flag(r.request_tribunal),
                "AssessmentOutcomeDate": d(r.assessment[1]) if r.assessment else "",
                "AssessmentOutcome": r.assessment[0] if r.assessment else "",
                "AssessmentMediation": _flag(r.assessment_mediation),
                "AssessmentTribunal": _flag(r.assessment_tribunal),
                "Week20": _flag(r.week20),
                "ExceptionReason": r.exception_reason or "",
                "DraftDate": d(r.draft),
                "StartDate": d(r.start),
                "CeaseDate": d(r.cease),
                "TransferLA": r.transfer_la or "",
                "ReviewMeeting": d(r.review_meeting),
                "ReviewOutcome": r.review[0] if r.review else "",
                "LastReview": d(r.review[1]) if r.review else "",
            }
            writer.writerow([row[c] for c in header])
    return buffer.getvalue().encode()
