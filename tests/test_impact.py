"""What inspectors and advisers judge a plan by: each concern's intended outcome for children and families and how
the partnership will know, kept on the concern and shown in every pack."""

import csv
import io
import zipfile

import httpx

from tests.factories import make_concern, make_partnership, make_plan
from tests.test_exports import content, export
from tests.test_figures import json_pack
from tests.test_lifecycle import patch

OUTCOME = "Families get a plan that meets their child's needs within 20 weeks of asking."
CRITERIA = "90% of EHC plans issued within 20 weeks, excluding exceptions, for six months running."


async def test_a_concern_says_what_will_be_different_and_every_pack_shows_it(client: httpx.AsyncClient) -> None:
    plan = await make_plan(client, await make_partnership(client))
    concern = await make_concern(client, plan, intended_outcome=OUTCOME)
    assert concern["intended_outcome"] == OUTCOME and concern["success_criteria"] is None
    changed = await patch(client, f"concerns/{concern['id']}", {"success_criteria": CRITERIA})
    assert changed.status_code == 200 and changed.json()["intended_outcome"] == OUTCOME  # a field not sent is left alone
    assert (await client.get(f"/api/v1/concerns/{concern['id']}")).json() == changed.json()

    data = (await json_pack(client, plan["id"]))["data"]
    [shown] = data["concerns"]
    assert (shown["intended_outcome"], shown["success_criteria"]) == (OUTCOME, CRITERIA)
    html = (await content(client, await export(client, plan["id"], format="html"))).decode()
    assert "What will be different for children and families" in html and "Families get a plan that meets" in html
    with zipfile.ZipFile(io.BytesIO(await content(client, await export(client, plan["id"], format="csv")))) as z:
        name = next(n for n in z.namelist() if "concerns" in n)
        [row] = list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8-sig"))))
    assert (row["Intended outcome"], row["Success criteria"]) == (OUTCOME, CRITERIA)
