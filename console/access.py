"""Who may see a console page: the same rules as the API (substrapp.models.scoping and
is_channel_admin), applied as decorators so that every view states its audience. A refusal or a
key that is not there is a console page that says so, not the API's JSON answer."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render

from substrapp.models import channel_of, is_channel_admin

LOGIN_URL = "console:login"


def member_required(view):
    """Signed in, and a member of a channel: every page shows that channel's rows only."""

    @login_required(login_url=LOGIN_URL)
    @wraps(view)
    def checked(request, *args, **kwargs):
        try:
            if channel_of(request.user) is None:
                raise PermissionDenied("This account belongs to no channel.")
            return view(request, *args, **kwargs)
        except PermissionDenied as refusal:
            return error_page(request, 403, str(refusal) or "You may not see this page.")
        except Http404 as missing:
            return error_page(request, 404, _missing_message(missing))

    return checked


def admin_required(view):
    """Signed in as an ADMIN of a channel: user management."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if not is_channel_admin(request.user):
            raise PermissionDenied("Only admins of the channel may do this.")
        return view(request, *args, **kwargs)

    return member_required(checked)


def _missing_message(missing: Http404) -> str:
    # get_object_or_404's message names the model's query, not something to show.
    text = str(missing)
    return text if text and "matches the given query" not in text else "There is nothing here, or not in your channel."


def error_page(request, status: int, message: str):
    """The console's answer to a refusal: JSON in the API's error shape for the live endpoints,
    a page otherwise."""
    if request.path.endswith(".json"):
        code = {403: "permission_denied", 404: "not_found"}.get(status, "invalid")
        return JsonResponse({"detail": message, "code": code}, status=status)
    return render(request, "console/error.html", {"status": status, "message": message}, status=status)


def form_errors(form) -> JsonResponse:
    """A 400 in the API's error shape: `detail` names each field with its message."""
    details = [f"{field}: {' '.join(messages)}" for field, messages in form.errors.items()]
    return JsonResponse({"detail": " ".join(details), "code": "invalid", "errors": form.errors}, status=400)
