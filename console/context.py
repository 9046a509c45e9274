"""What every console page shows in its header: this organization, the user's channel and role,
and which section is open."""

from django.conf import settings

from substrapp.models import channel_of, is_channel_admin

SECTIONS = {
    "plans": "plans",
    "plan": "plans",
    "task": "plans",
    "datasets": "datasets",
    "dataset": "datasets",
    "functions": "functions",
    "function": "functions",
    "users": "users",
    "tokens": "tokens",
    "integrity": "integrity",
    "network": "network",
}


def console(request) -> dict:
    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace != "console":
        return {}
    user = request.user
    membership = getattr(user, "membership", None)
    return {
        "org_id": settings.ORG_ID,
        "channel": channel_of(user),
        "role": membership.role if membership is not None else "",
        "is_admin": is_channel_admin(user),
        "section": SECTIONS.get(match.url_name, ""),
    }
