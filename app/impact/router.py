"""Routes of impact statements."""

from app.core.routing import add_resource_routes, api_router
from app.impact.resources import impact_statements

router = api_router()
add_resource_routes(router, impact_statements)
