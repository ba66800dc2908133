"""Routes of measures, observations and funding lines."""

from app.core.routing import add_resource_routes, api_router
from app.measures import resources as r

router = api_router()
for resource in (r.measures, r.observations, r.funding_lines):
    add_resource_routes(router, resource)
