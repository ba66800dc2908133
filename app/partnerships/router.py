"""Routes of the partnership's collections."""

from fastapi import APIRouter

from app.core.routing import API_PREFIX, add_resource_routes
from app.partnerships import resources as r

router = APIRouter(prefix=API_PREFIX)
for resource in (r.partnerships, r.organisations, r.people):
    add_resource_routes(router, resource)
