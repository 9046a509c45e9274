"""The Django admin. Channel admins (role ADMIN, hence staff) manage the users of their own channel
here, channel and role in the user's own form; superusers see every channel, the peers, the
mirrored organizations, the event cursors and the API tokens. The audit trail is read here by
the admins of its channel and the superusers, and changed by nobody."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from substrapp.channels import channel_names
from substrapp.models import (
    AuditRecord,
    ChannelCursor,
    ExpiringToken,
    IncomingPeer,
    Organization,
    OutgoingPeer,
    UserChannel,
    channel_of,
)
from substrapp.models import is_channel_admin as _is_channel_admin

User = get_user_model()


def manages_users(user) -> bool:
    return user.is_active and (user.is_superuser or _is_channel_admin(user))


def channels_managed_by(user) -> list[str]:
    return channel_names() if user.is_superuser else [channel_of(user)]


class UserChannelInline(admin.StackedInline):
    model = UserChannel
    can_delete = False
    extra = 0
    max_num = 1
    verbose_name = verbose_name_plural = "channel and role"

    def get_min_num(self, request, obj=None, **kwargs):
        # Superusers operate the whole organization and may be in no channel.
        return 0 if obj is not None and obj.is_superuser else 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "channel":
            choices = [(name, name) for name in channels_managed_by(request.user)]
            return forms.ChoiceField(choices=choices, label="Channel")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_view_permission(self, request, obj=None):
        return manages_users(request.user)

    has_add_permission = has_change_permission = has_view_permission

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(User)


@admin.register(User)
class ChannelUserAdmin(UserAdmin):
    inlines = [UserChannelInline]
    # Staff status follows the role (UserChannel.save); superusers are made with createsuperuser.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active",)}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = ("username", "channel", "role", "is_active", "last_login")
    list_filter = ("membership__role", "is_active")

    @admin.display(ordering="membership__channel")
    def channel(self, user):
        return channel_of(user) or "-"

    @admin.display(ordering="membership__role")
    def role(self, user):
        membership = getattr(user, "membership", None)
        return membership.get_role_display() if membership else "-"

    def get_list_filter(self, request):
        if request.user.is_superuser:
            return ("membership__channel", *self.list_filter)
        return self.list_filter

    def get_queryset(self, request):
        users = super().get_queryset(request).select_related("membership")
        if request.user.is_superuser:
            return users
        return users.filter(membership__channel=channel_of(request.user), is_superuser=False)

    def has_module_permission(self, request):
        return manages_users(request.user)

    def has_view_permission(self, request, obj=None):
        return manages_users(request.user)

    has_add_permission = has_module_permission
    has_change_permission = has_view_permission

    def has_delete_permission(self, request, obj=None):
        return manages_users(request.user) and obj != request.user


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by commands or the event consumer: looked at and deleted, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("org_id", "channel", "address", "creation_date")
    list_filter = ("channel",)


@admin.register(IncomingPeer)
class IncomingPeerAdmin(ReadOnlyAdmin):
    list_display = ("org_id", "created", "updated")
    fields = ("org_id", "created", "updated")


@admin.register(OutgoingPeer)
class OutgoingPeerAdmin(ReadOnlyAdmin):
    list_display = ("org_id", "url", "created", "updated")
    fields = ("org_id", "url", "created", "updated")


@admin.register(ExpiringToken)
class ExpiringTokenAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "created", "expires_at")
    list_select_related = ("user",)
    fields = ("id", "user", "created", "expires_at")


@admin.register(ChannelCursor)
class ChannelCursorAdmin(ReadOnlyAdmin):
    """Deleting a cursor makes the consumer apply the channel's events again from the first one,
    verifying the whole chain (applying an event twice changes nothing)."""

    list_display = ("channel", "position", "hash", "updated_at")
    fields = ("channel", "position", "hash", "updated_at")


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: no add, change or delete, and no bulk action
    (the admin's "delete selected" would go around the model)."""

    list_display = ("time", "actor", "channel", "action", "asset_key", "outcome", "status_code", "ledger_position")
    list_filter = ("outcome", "actor_kind", "action")
    search_fields = ("actor", "asset_key", "request_id")
    date_hierarchy = "time"
    actions = None

    def get_queryset(self, request):
        records = super().get_queryset(request)
        if request.user.is_superuser:
            return records
        return records.filter(channel=channel_of(request.user))

    def has_module_permission(self, request):
        return manages_users(request.user)

    def has_view_permission(self, request, obj=None):
        return manages_users(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
