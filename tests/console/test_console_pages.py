"""The console's other pages, server side: tasks, datasets and functions, users and tokens for
the roles that may see them, the network and the integrity page's kept chain."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from console.markdown import render_description
from substrapp.models import ChannelCursor, ExpiringToken, TaskExecution, UserChannel, WorkerNode
from tests.console import world
from tests.console.conftest import csrf_post, make_user, signed_in


@pytest.mark.django_db
def test_a_task_page_shows_worker_rank_parents_and_step_durations(user_client):
    plan = world.plan("fedavg")
    made = world.tasks(plan, rounds=2)
    TaskExecution.objects.create(
        task=made[-1],
        channel="mychannel",
        compute_plan_key=plan.key,
        ran_on="host:1",
        heartbeat=timezone.now(),
        attempts=1,
        durations={"prepare_inputs": 0.25, "execution": 1.5},
    )

    page = user_client.get(f"/console/tasks/{made[-1].key}/").content.decode()

    assert made[-1].worker in page and "execution" in page and "1.50" in page
    assert made[0].key in page  # a parent, linked
    assert "accuracy" in page  # its performance output


@pytest.mark.django_db
def test_a_failed_tasks_page_says_why_its_logs_cannot_be_shown_when_no_report_arrived(user_client):
    plan = world.plan("fedavg", status="PLAN_STATUS_FAILED")
    task = world.tasks(plan, rounds=1, status="STATUS_FAILED")[0]

    page = user_client.get(f"/console/tasks/{task.key}/").content.decode()

    assert "Logs of the failure" in page
    assert "has not reached this organization yet" in page


@pytest.mark.django_db
def test_datasets_and_functions_are_listed_for_the_channel_only(user_client):
    world.dataset(name="hospital-a")
    world.function(name="fedavg-train")
    world.dataset(name="hidden-set", channel="otherchannel")

    datasets = user_client.get("/console/datasets/").content.decode()
    functions = user_client.get("/console/functions/").content.decode()

    assert "hospital-a" in datasets and "hidden-set" not in datasets
    assert "fedavg-train" in functions


@pytest.mark.django_db
def test_a_dataset_this_organization_may_not_process_offers_no_opener(user_client):
    dataset = world.dataset(owner="MyOrg2MSP", permissions={"public": False, "authorized_ids": ["MyOrg2MSP"]})

    page = user_client.get(f"/console/datasets/{dataset.key}/").content.decode()
    download = user_client.get(f"/console/datasets/{dataset.key}/opener/")

    assert "may not process this dataset" in page
    assert download.status_code == 403


def test_descriptions_are_rendered_without_the_authors_html_or_script_links():
    html = render_description("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=y>")

    assert "<h1>Title</h1>" in html
    assert "<script>" not in html and "<img" not in html
    assert 'href="javascript:' not in html


@pytest.mark.django_db
def test_a_user_of_the_user_role_sees_no_user_management(user_client):
    page = user_client.get("/console/plans/").content.decode()

    assert "/console/users/" not in page
    assert user_client.get("/console/users/").status_code == 403
    assert (
        csrf_post(
            user_client, "/console/users/", {"username": "eve", "password": "x" * 20, "role": "ADMIN"}
        ).status_code
        == 403
    )
    assert not get_user_model().objects.filter(username="eve").exists()


@pytest.mark.django_db
def test_an_admin_creates_a_user_changes_its_role_and_resets_its_password(admin_client):
    created = csrf_post(
        admin_client, "/console/users/", {"username": "dave", "password": "a long passphrase 42", "role": "USER"}
    )
    dave = UserChannel.objects.get(user__username="dave")
    csrf_post(admin_client, "/console/users/dave/role/", {"role": "ADMIN"})
    token = ExpiringToken.objects.create(user=dave.user, digest="d" * 64, expires_at=timezone.now())
    csrf_post(admin_client, "/console/users/dave/password/", {"password": "another passphrase 43"})

    assert created.status_code == 302
    dave.refresh_from_db()
    assert (dave.channel, dave.role, dave.user.is_staff) == ("mychannel", "ADMIN", True)
    assert dave.user.check_password("another passphrase 43")
    assert not ExpiringToken.objects.filter(id=token.id).exists()


@pytest.mark.django_db
def test_an_admin_is_refused_a_weak_password_and_a_taken_name_and_nothing_is_created(admin_client, user):
    weak = csrf_post(admin_client, "/console/users/", {"username": "zed", "password": "123", "role": "USER"})
    taken = csrf_post(
        admin_client, "/console/users/", {"username": user.username, "password": "a long passphrase 42", "role": "USER"}
    )

    assert weak.status_code == taken.status_code == 400
    assert not get_user_model().objects.filter(username="zed").exists()


@pytest.mark.django_db
def test_an_admin_cannot_touch_users_of_another_channel_or_delete_themselves(admin_client, admin, other_admin):
    assert csrf_post(admin_client, f"/console/users/{other_admin.username}/delete/").status_code == 404
    assert csrf_post(admin_client, f"/console/users/{other_admin.username}/role/", {"role": "USER"}).status_code == 404
    csrf_post(admin_client, f"/console/users/{admin.username}/delete/")

    assert get_user_model().objects.filter(username__in=[admin.username, other_admin.username]).count() == 2


@pytest.mark.django_db
def test_a_user_creates_a_token_that_the_api_accepts_then_revokes_it(user_client, user):
    page = csrf_post(user_client, "/console/tokens/", {"hours": "168", "note": "nightly job"}).content.decode()
    key = page.split('id="new-token-key" readonly value="')[1].split('"')[0]
    token = ExpiringToken.objects.get(user=user)

    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/compute_plan/").status_code == 200
    assert 167 <= (token.expires_at - timezone.now()).total_seconds() / 3600 <= 168
    assert token.note == "nightly job" and "nightly job" in user_client.get("/console/tokens/").content.decode()
    csrf_post(user_client, f"/console/tokens/{token.id}/revoke/")
    assert api.get("/compute_plan/").status_code == 401


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(user):
    client = signed_in(user)

    answer = client.post("/console/tokens/", {"hours": "24"})

    assert answer.status_code == 403
    assert not ExpiringToken.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_the_integrity_page_shows_the_last_event_verified(user_client):
    ChannelCursor.objects.create(channel="mychannel", position=42, hash="ab" * 32)
    ChannelCursor.objects.create(channel="otherchannel", position=7, hash="cd" * 32)

    page = user_client.get("/console/integrity/").content.decode()

    assert ">42<" in page and "ab" * 32 in page
    assert "cd" * 32 not in page


@pytest.mark.django_db
def test_the_network_page_lists_workers_with_their_heartbeat_and_the_queue(user_client):
    WorkerNode.objects.create(name="MyOrg1MSP@box", queue="q", heartbeat=timezone.now())
    plan = world.plan("fedavg")
    world.tasks(plan, rounds=1, workers=("MyOrg1MSP",), status="STATUS_WAITING_FOR_EXECUTOR_SLOT")

    page = user_client.get("/console/network/").content.decode()

    assert "MyOrg1MSP@box" in page and "alive" in page
    assert "1 task of this organization waits" in page


@pytest.mark.django_db
def test_a_user_in_no_channel_is_refused_every_page():
    nobody = make_user("nobody", channel=None)
    client = signed_in(nobody)

    assert client.get("/console/plans/").status_code == 403


@pytest.mark.django_db
def test_a_check_of_a_channel_with_no_event_applied_answers_at_once_without_the_orchestrator(user_client):
    page = csrf_post(user_client, "/console/integrity/").content.decode()

    assert "Chain intact." in page and "applied no event" in page
