"""The Django admin: channel admins manage their channel's users there, channel and role included."""

import pytest
from django.contrib.auth import get_user_model

from substrapp.models import Role
from tests.backend.conftest import make_user


def add_form(username, channel="mychannel", role="USER", password="a long passphrase 77"):
    return {
        "username": username,
        "usable_password": "true",
        "password1": password,
        "password2": password,
        "membership-TOTAL_FORMS": "1",
        "membership-INITIAL_FORMS": "0",
        "membership-MIN_NUM_FORMS": "1",
        "membership-MAX_NUM_FORMS": "1",
        "membership-0-channel": channel,
        "membership-0-role": role,
    }


@pytest.mark.django_db
def test_the_admin_page_loads_for_a_channel_admin(client, admin):
    client.force_login(admin)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert b"/admin/auth/user/" in response.content


@pytest.mark.django_db
def test_a_plain_user_is_sent_to_the_admin_login(client, user):
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_a_channel_admin_sees_only_their_channels_users(client, admin, user, other_admin):
    client.force_login(admin)

    page = client.get("/admin/auth/user/").content.decode()

    assert "bob" in page and "alice" in page
    assert "charlie" not in page
    assert client.get(f"/admin/auth/user/{other_admin.pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"/admin/auth/user/{other_admin.pk}/password/").status_code == 404


@pytest.mark.django_db
def test_an_admin_creates_a_user_with_channel_and_role_in_one_form(client, admin):
    client.force_login(admin)
    page = client.get("/admin/auth/user/add/").content.decode()
    assert 'name="membership-0-channel"' in page and 'name="membership-0-role"' in page

    response = client.post("/admin/auth/user/add/", add_form("dave", role="ADMIN"))

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    dave = get_user_model().objects.get(username="dave")
    assert (dave.membership.channel, dave.membership.role, dave.is_staff) == ("mychannel", "ADMIN", True)


@pytest.mark.django_db
def test_a_channel_admin_cannot_put_a_user_in_another_channel(client, admin):
    client.force_login(admin)

    response = client.post("/admin/auth/user/add/", add_form("dave", channel="otherchannel"))

    assert response.status_code == 200  # the form again, with the error
    assert not get_user_model().objects.filter(username="dave").exists()


@pytest.mark.django_db
def test_a_user_needs_a_channel(client, admin):
    client.force_login(admin)
    form = add_form("dave")
    del form["membership-0-channel"]

    client.post("/admin/auth/user/add/", form)

    assert not get_user_model().objects.filter(username="dave").exists()


@pytest.mark.django_db
def test_staff_status_follows_the_role(user):
    membership = user.membership

    membership.role = Role.ADMIN
    membership.save()
    assert get_user_model().objects.get(pk=user.pk).is_staff

    membership.role = Role.USER
    membership.save()
    assert not get_user_model().objects.get(pk=user.pk).is_staff


@pytest.mark.django_db
def test_a_superuser_manages_every_channel_and_the_peers(client, admin, other_admin):
    root = make_user("root", channel=None, is_superuser=True, is_staff=True)
    client.force_login(root)

    page = client.get("/admin/auth/user/").content.decode()

    assert "alice" in page and "charlie" in page
    for path in ("incomingpeer", "outgoingpeer", "organization", "expiringtoken"):
        assert client.get(f"/admin/substrapp/{path}/").status_code == 200


@pytest.mark.django_db
def test_a_channel_admin_does_not_see_peers_or_tokens(client, admin):
    client.force_login(admin)

    assert client.get("/admin/substrapp/incomingpeer/").status_code == 403
    assert client.get("/admin/substrapp/expiringtoken/").status_code == 403
