"""The partnership's collections: partnerships, organisations, people."""

from app.core.permissions import PEOPLE_READERS, Access
from app.core.resources import Ref, Resource, Unique
from app.models import Organisation, Partnership, Person
from app.partnerships import schemas as s
from app.partnerships.service import PartnershipRules, PersonRules, hide_contact_details

PARTNERSHIP_REF = Ref("partnership_id", Partnership, "partnership")

partnerships = Resource(
    path="partnerships",
    entity="partnership",
    tag="partnerships",
    table=Partnership,
    create=s.PartnershipCreate,
    update=s.PartnershipUpdate,
    read=s.PartnershipRead,
    query=s.PartnershipQuery,
    rules=PartnershipRules(),
    unique=(Unique("la_code"),),
    description="A local area partnership: the council and its NHS partners, inspected together.",
    create_example={"name": "Wessex Vale SEND Local Area Partnership", "la_code": "835", "timezone": "Europe/London"},
    update_example={"name": "Wessex Vale SEND Partnership"},
)

organisations = Resource(
    path="organisations",
    entity="organisation",
    tag="partnerships",
    table=Organisation,
    create=s.OrganisationCreate,
    update=s.OrganisationUpdate,
    read=s.OrganisationRead,
    query=s.OrganisationQuery,
    unique=(Unique("name", ("partnership_id",)),),
    parents=(PARTNERSHIP_REF,),
    description="Bodies of the partnership that own or contribute to actions: council, ICB, providers, parent carer forum.",
    create_example={
        "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
        "name": "Wessex Vale Parent Carer Forum",
        "kind": "parent_carer_forum",
    },
    update_example={"name": "Wessex Vale Parent Carer Forum CIC"},
)

people = Resource(
    path="people",
    entity="person",
    tag="people",
    table=Person,
    create=s.PersonCreate,
    update=s.PersonUpdate,
    read=s.PersonRead,
    query=s.PersonQuery,
    access=Access(read=PEOPLE_READERS),
    rules=PersonRules(),
    redact=hide_contact_details,
    personal=lambda row: "contact details" if row.get("email") else None,  # a read that shows an e-mail is audited
    unique=(Unique("external_id", ("partnership_id",)),),
    parents=(PARTNERSHIP_REF,),
    refs=(Ref("organisation_id", Organisation, "organisation"),),
    description="People who own, contribute to or report on actions; usually kept current by the HR sync. Leaving is kept "
    "as the sync keeps it: `left_on` only with `active: false` (422 otherwise) and never after the partnership's today; "
    "marking someone as left without a date records today; bringing someone back clears the date.",
    create_example={
        "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
        "external_id": "HR004217",
        "display_name": "Priya Raman",
        "email": "priya.raman@wessexvale.gov.example",
        "job_title": "Head of SEND Assessment",
    },
    update_example={"job_title": "Assistant Director, SEND"},
)
