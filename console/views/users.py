"""Users (admins of the channel) and a user's own API tokens. The same rules as /users/: a
channel's admins see and change that channel's users only, never superusers, never delete
themselves."""

import datetime

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from console.access import admin_required, member_required
from console.forms import NewTokenForm, NewUserForm, PasswordResetForm, RoleForm
from substrapp import accounts
from substrapp.models import UserChannel, channel_of


def channel_users(request):
    return UserChannel.objects.for_user(request.user).select_related("user").exclude(user__is_superuser=True)


def membership_of(request, username: str) -> UserChannel:
    return get_object_or_404(channel_users(request), user__username=username)


@require_http_methods(["GET", "POST"])
@admin_required
def user_list(request):
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        accounts.create_channel_user(data["username"], data["password"], channel_of(request.user), data["role"])
        messages.success(request, f"User {data['username']} created.")
        return redirect("console:users")
    context = {
        "users": channel_users(request).order_by("user__username"),
        "form": form,
        "role_form": RoleForm(),
        "password_form": PasswordResetForm(),
    }
    return render(request, "console/users.html", context, status=400 if form.errors else 200)


@require_POST
@admin_required
def user_role(request, username):
    membership = membership_of(request, username)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose ADMIN or USER.")
    elif membership.user == request.user:
        messages.error(request, "You cannot change your own role.")
    else:
        accounts.change_role(membership, form.cleaned_data["role"])
        messages.success(request, f"{username} is now {form.cleaned_data['role']}.")
    return redirect("console:users")


@require_POST
@admin_required
def user_password(request, username):
    membership = membership_of(request, username)
    form = PasswordResetForm(request.POST)
    if form.is_valid():
        accounts.set_password(membership.user, form.cleaned_data["password"])
        messages.success(request, f"The password of {username} was reset; its API tokens and sessions were closed.")
    else:
        messages.error(request, " ".join(form.errors.get("password", ["Bad password."])))
    return redirect("console:users")


@require_POST
@admin_required
def user_delete(request, username):
    membership = membership_of(request, username)
    if membership.user == request.user:
        messages.error(request, "You cannot delete your own account.")
    else:
        accounts.delete_channel_user(membership)
        messages.success(request, f"User {username} deleted.")
    return redirect("console:users")


@require_http_methods(["GET", "POST"])
@member_required
def token_list(request):
    form = NewTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        expires_at = timezone.now() + datetime.timedelta(hours=form.cleaned_data["hours"])
        new_token = accounts.issue_token(request.user, expires_at=expires_at, note=form.cleaned_data["note"])
    context = {
        "tokens": accounts.active_tokens(request.user),
        "form": NewTokenForm() if new_token else form,
        "new_token": new_token,
    }
    return render(request, "console/tokens.html", context, status=400 if form.errors else 200)


@require_POST
@member_required
def token_revoke(request, token_id):
    if accounts.revoke_token(request.user, token_id):
        messages.success(request, "Token revoked.")
    return redirect("console:tokens")
