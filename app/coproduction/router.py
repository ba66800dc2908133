"""Routes of the engagement log."""

from app.coproduction.resources import engagements
from app.core.routing import add_resource_routes, api_router

router = api_router()
add_resource_routes(router, engagements)
