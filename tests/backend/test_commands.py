"""manage.py create_admin, add_peer and register_organization."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from substrapp.models import IncomingPeer, OutgoingPeer
from substrapp.orchestration import close_orchestrator_clients, orchestrator_for
from substrapp.peers import authenticate_peer
from tests.backend.conftest import make_user
from tests.backend.network import point_backend_at
from tests.conftest import ORG1, ORG2

PASSWORD = "the first admin's passphrase"


@pytest.mark.django_db
def test_create_admin_makes_a_staff_admin_of_the_channel():
    call_command("create_admin", "--username", "root", "--password", PASSWORD, "--channel", "mychannel")

    user = get_user_model().objects.get(username="root")
    assert (user.membership.channel, user.membership.role, user.is_staff) == ("mychannel", "ADMIN", True)
    assert user.check_password(PASSWORD) and not user.is_superuser


@pytest.mark.django_db
def test_create_admin_again_resets_the_password_and_promotes_the_user():
    make_user("bob")

    call_command("create_admin", "--username", "bob", "--password", PASSWORD, "--channel", "mychannel")

    user = get_user_model().objects.get(username="bob")
    assert (user.membership.role, user.is_staff, user.check_password(PASSWORD)) == ("ADMIN", True, True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("channel", "password", "message"),
    [
        ("nochannel", PASSWORD, "'nochannel' is not a channel of this organization"),
        ("otherchannel", PASSWORD, "bob is a user of channel mychannel, not otherchannel"),
        ("mychannel", "1234", "password refused: This password is too short."),
    ],
)
def test_create_admin_refuses_what_it_cannot_do(channel, password, message):
    make_user("bob")

    with pytest.raises(CommandError, match=message):
        call_command("create_admin", "--username", "bob", "--password", password, "--channel", channel)

    assert get_user_model().objects.get(username="bob").membership.role == "USER"


@pytest.mark.django_db
def test_add_peer_keeps_the_incoming_password_hashed_and_the_outgoing_one_usable():
    call_command(
        "add_peer", "--org-id", ORG2, "--incoming-password", "from org2", "--outgoing-password", "to org2",
        "--url", "https://org2.example.com",
    )  # fmt: skip

    incoming = IncomingPeer.objects.get(org_id=ORG2)
    assert "from org2" not in incoming.password_hash
    assert authenticate_peer(ORG2, "from org2") == incoming
    assert authenticate_peer(ORG2, "to org2") is None
    assert authenticate_peer("MyOrg9MSP", "from org2") is None
    outgoing = OutgoingPeer.objects.get(org_id=ORG2)
    assert (outgoing.password, outgoing.url) == ("to org2", "https://org2.example.com")


@pytest.mark.django_db
def test_add_peer_again_replaces_the_credentials():
    for incoming, outgoing in [("old in", "old out"), ("new in", "new out")]:
        call_command("add_peer", "--org-id", ORG2, "--incoming-password", incoming, "--outgoing-password", outgoing)

    assert authenticate_peer(ORG2, "new in") is not None
    assert authenticate_peer(ORG2, "old in") is None
    assert OutgoingPeer.objects.get(org_id=ORG2).password == "new out"
    assert (IncomingPeer.objects.count(), OutgoingPeer.objects.count()) == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("org_id", "url", "message"),
    [(ORG1, "", "another organization than MyOrg1MSP"), (ORG2, "ftp://org2", "not an http")],
)
def test_add_peer_refuses_itself_and_bad_urls(org_id, url, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "add_peer", "--org-id", org_id, "--incoming-password", "a", "--outgoing-password", "b", "--url", url
        )

    assert not IncomingPeer.objects.exists()


@pytest.mark.django_db
def test_register_organization_records_the_address_in_each_channel(settings, orchestrator, authority, tmp_path):
    point_backend_at(settings, orchestrator, authority, tmp_path, org=ORG2)
    options = {"model_export_enabled": False, "restricted": False}
    settings.CHANNELS = {"mychannel": options, "otherchannel": options}
    try:
        call_command("register_organization", "--address", "https://org2.example.com")

        for channel in ("mychannel", "otherchannel"):
            registered = {org.id: org.address for org in orchestrator_for(channel).list_organizations()}
            assert registered[ORG2] == "https://org2.example.com"
    finally:
        close_orchestrator_clients()


@pytest.mark.django_db
def test_register_organization_refuses_a_channel_it_is_not_in_and_a_missing_address(settings):
    settings.PUBLIC_URL = ""
    with pytest.raises(CommandError, match="no address"):
        call_command("register_organization")
    with pytest.raises(CommandError, match="not channels of this organization: nochannel"):
        call_command("register_organization", "--address", "https://x.example", "--channel", "nochannel")


@pytest.mark.django_db
def test_a_peers_right_password_goes_through_the_hasher_once_a_wrong_one_every_time(monkeypatch):
    """The hasher costs 0.6 s of CPU per check: a peer's every model download paid it."""
    call_command("add_peer", "--org-id", ORG2, "--incoming-password", "from org2", "--outgoing-password", "out")
    checked = []
    check = IncomingPeer.check_password
    monkeypatch.setattr(
        IncomingPeer, "check_password", lambda peer, password: checked.append(password) or check(peer, password)
    )

    assert [authenticate_peer(ORG2, "from org2") is not None for _ in range(3)] == [True] * 3
    assert checked == ["from org2"]
    assert authenticate_peer(ORG2, "from org3") is None
    assert authenticate_peer(ORG2, "from org3") is None
    assert authenticate_peer(ORG2, "from org2\x00") is None
    assert checked == ["from org2", "from org3", "from org3", "from org2\x00"]

    # A new password: the one verified before is refused, through the hasher again.
    call_command("add_peer", "--org-id", ORG2, "--incoming-password", "rotated", "--outgoing-password", "out")
    assert authenticate_peer(ORG2, "from org2") is None
    assert authenticate_peer(ORG2, "rotated") is not None
    assert authenticate_peer(ORG2, "rotated") is not None
    assert checked[4:] == ["from org2", "rotated"]
