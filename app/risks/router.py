"""Routes of the risk register."""

import uuid
from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from app.core.auth import Actor
from app.core.db import DatabaseDep
from app.core.errors import problems
from app.core.http import json_response
from app.core.permissions import READERS, allow, documented, roles_text
from app.core.routing import add_resource_routes, api_router, ok, read_one
from app.risks import schemas as s
from app.risks.resources import risks
from app.risks.service import ratings

router = api_router()
add_resource_routes(router, risks)


@router.get(
    "/risks/{id}/ratings",
    summary="List a risk's ratings",
    description="Every rating the risk has had, oldest first (the first is its rating when recorded): likelihood, impact, "
    "score and target, when and by whom. Append-only: the trend of the risk." + roles_text(READERS),
    operation_id="risks-ratings-list",
    tags=["risks"],
    response_class=Response,
    responses={200: ok(s.RatingPage, "The risk's ratings."), **problems(404)},
    openapi_extra=documented(READERS),
)
async def list_ratings(
    id: uuid.UUID, _: Annotated[s.RatingQuery, Query()], db: DatabaseDep, actor: Annotated[Actor, Depends(allow(READERS))]
) -> Response:
    await read_one(db, actor, risks, id)  # 404 for an unknown or invisible risk
    async with db.read() as reads:
        return json_response({"items": await ratings(reads, id), "next_cursor": None})
