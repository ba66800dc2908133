"""Routes of the partnership's collections."""

from fastapi import APIRouter

from app.core.routing import resource_router
from app.partnerships import resources as r

router = APIRouter()
for resource in (r.partnerships, r.organisations, r.people):
    router.include_router(resource_router(resource))
