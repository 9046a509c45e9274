"""Who may see a console page: the same rules as the API (substrapp.models.scoping and
is_channel_admin), applied as decorators so that every view states its audience."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from substrapp.models import channel_of, is_channel_admin

LOGIN_URL = "console:login"


def member_required(view):
    """Signed in, and a member of a channel: every page shows that channel's rows only."""

    @login_required(login_url=LOGIN_URL)
    @wraps(view)
    def checked(request, *args, **kwargs):
        if channel_of(request.user) is None:
            raise PermissionDenied("This account belongs to no channel.")
        return view(request, *args, **kwargs)

    return checked


def admin_required(view):
    """Signed in as an ADMIN of a channel: user management."""

    @member_required
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not is_channel_admin(request.user):
            raise PermissionDenied("Only admins of the channel may do this.")
        return view(request, *args, **kwargs)

    return checked
