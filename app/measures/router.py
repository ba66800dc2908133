"""Routes of measures, observations and funding lines."""

from fastapi import APIRouter

from app.core.routing import API_PREFIX, add_resource_routes
from app.measures import resources as r

router = APIRouter(prefix=API_PREFIX)
for resource in (r.measures, r.observations, r.funding_lines):
    add_resource_routes(router, resource)
