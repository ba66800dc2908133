"""Routes of governance: boards, meetings, decisions and meeting actions."""

from app.core.routing import add_resource_routes, api_router
from app.governance.resources import boards, decisions, meeting_actions, meetings

router = api_router()
for resource in (boards, meetings, decisions, meeting_actions):
    add_resource_routes(router, resource)
