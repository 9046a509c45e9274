"""The console's plan pages, server side: signed-in members of a channel see its plans only, with
their progress, graph data, chart series and performances as CSV."""

import csv
import io

import pytest
from django.test import Client

from console.plans import spreadsheet_safe
from substrapp.models import PlanCreator
from tests.console import world
from tests.console.conftest import csrf_post


@pytest.mark.django_db
def test_a_visitor_who_is_not_signed_in_is_sent_to_the_sign_in_page():
    answer = Client().get("/console/plans/")

    assert answer.status_code == 302
    assert answer["Location"].startswith("/console/sign-in/?next=/console/plans/")


@pytest.mark.django_db
def test_the_root_opens_the_console():
    assert Client().get("/")["Location"] == "/console/plans/"


@pytest.mark.django_db
def test_a_wrong_password_signs_nobody_in(user):
    client = Client()
    answer = client.post("/console/sign-in/", {"username": user.username, "password": "wrong"})

    assert answer.status_code == 200
    assert b"did not match" in answer.content
    assert client.get("/console/plans/").status_code == 302


@pytest.mark.django_db
def test_the_session_cookie_is_http_only_and_sign_out_needs_a_post(user_client):
    assert user_client.cookies["sessionid"]["httponly"]
    assert user_client.get("/console/sign-out/").status_code == 405

    csrf_post(user_client, "/console/sign-out/")

    assert user_client.get("/console/plans/").status_code == 302


@pytest.mark.django_db
def test_the_plans_list_shows_the_channels_plans_with_their_progress_and_hides_other_channels(user_client):
    mine = world.plan("federated run", tag="exp-1", metadata={"site": "lyon"})
    world.tasks(mine, rounds=2)
    world.plan("secret", channel="otherchannel")

    page = user_client.get("/console/plans/").content.decode()

    assert "federated run" in page and "exp-1" in page and "site=lyon" in page
    assert "4/4 done" in page
    assert "secret" not in page
    # The creation date reads as on the plan's page, the machine-readable one in its datetime.
    created = mine.creation_date
    assert f'<time datetime="{created.isoformat()}">{created:%Y-%m-%d %H:%M:%S}</time>' in page


@pytest.mark.django_db
def test_a_plan_registered_here_names_the_user_who_created_it(user_client):
    plan = world.plan("mine")
    PlanCreator.objects.create(compute_plan=plan, username="carol")

    assert "carol (MyOrg1MSP)" in user_client.get("/console/plans/").content.decode()
    assert "carol (MyOrg1MSP)" in user_client.get(f"/console/plans/{plan.key}/").content.decode()


@pytest.mark.django_db
def test_the_plans_list_is_searched_filtered_and_sorted_by_the_apis_filterset(user_client):
    world.plan("alpha", status="PLAN_STATUS_DONE")
    world.plan("beta", status="PLAN_STATUS_FAILED")

    by_name = user_client.get("/console/plans/", {"match": "alp"}).content.decode()
    by_status = user_client.get("/console/plans/", {"status": "PLAN_STATUS_FAILED"}).content.decode()
    sorted_page = user_client.get("/console/plans/", {"ordering": "-name"}).content.decode()
    bad = user_client.get("/console/plans/", {"status": "DONE"})

    assert "alpha" in by_name and "beta" not in by_name
    assert "beta" in by_status and "alpha" not in by_status
    assert sorted_page.index("beta") < sorted_page.index("alpha")
    assert bad.status_code == 400 and b"not valid" in bad.content


@pytest.mark.django_db
def test_the_plans_live_endpoint_answers_status_and_counts_of_the_asked_plans_in_two_queries(
    user_client, django_assert_max_num_queries
):
    plans = [world.plan(f"p{i}") for i in range(5)]
    for plan in plans:
        world.tasks(plan, rounds=1)
    keys = ",".join(p.key for p in plans)

    # + the session, the user and its membership; + the wait for the channel's writes behind an
    # answer (models/scoping.py), a lock taken and let go: two statements in the test's transaction.
    with django_assert_max_num_queries(2 + 3 + 2):
        answer = user_client.get("/console/plans/live.json", {"keys": keys})

    body = answer.json()
    assert {row["key"] for row in body["plans"]} == {p.key for p in plans}
    assert all(row["counts"]["done_count"] == 2 for row in body["plans"])


@pytest.mark.django_db
def test_the_plans_live_endpoint_refuses_what_is_not_a_list_of_keys(user_client):
    answer = user_client.get("/console/plans/live.json", {"keys": "x' OR 1=1"})

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid" and body["detail"].startswith("keys: ") and "keys" in body["errors"]


@pytest.mark.django_db
def test_a_plan_page_shows_its_tasks_chart_and_graph_data(user_client):
    plan = world.plan("fedavg")
    made = world.tasks(plan, rounds=3)

    page = user_client.get(f"/console/plans/{plan.key}/")
    graph = user_client.get(f"/console/plans/{plan.key}/graph.json").json()
    live = user_client.get(f"/console/plans/{plan.key}/live.json").json()

    assert page.status_code == 200
    assert made[0].key[:8] in page.content.decode()
    assert graph["workers"] == ["MyOrg2MSP", "MyOrg3MSP"]
    assert len(graph["keys"]) == 6
    last = graph["keys"].index(made[-1].key)
    assert len(graph["parents"][last]) == 2
    assert live["status"] == graph["status"]
    assert {graph["statuses"][code] for code in live["status"]} == {"STATUS_DONE"}
    chart = live["charts"][0]
    assert chart["rounds"] == [1, 2, 3]
    assert [s["name"] for s in chart["series"]] == ["MyOrg2MSP", "MyOrg3MSP"]
    assert chart["average"][0] == pytest.approx((chart["series"][0]["values"][0] + chart["series"][1]["values"][0]) / 2)


@pytest.mark.django_db
def test_a_plan_of_another_channel_is_not_found(user_client):
    other = world.plan("theirs", channel="otherchannel")

    page = user_client.get(f"/console/plans/{other.key}/")
    assert page.status_code == 404 and b"not in your channel" in page.content
    assert user_client.get(f"/console/plans/{other.key}/live.json").json()["code"] == "not_found"
    assert user_client.get(f"/console/plans/{other.key}/live.json").status_code == 404
    assert user_client.get(f"/console/plans/{other.key}/graph.json").status_code == 404
    assert user_client.get(f"/console/plans/{other.key}/performances.csv").status_code == 404


@pytest.mark.django_db
def test_the_performances_download_as_csv_one_row_per_task_output(user_client):
    plan = world.plan("fedavg")
    world.tasks(plan, rounds=2)

    answer = user_client.get(f"/console/plans/{plan.key}/performances.csv")

    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert len(rows) == 4
    assert {row["identifier"] for row in rows} == {"accuracy"}


@pytest.mark.django_db
def test_only_the_owner_organization_sees_cancel_and_another_owners_plan_is_not_canceled(user_client):
    theirs = world.plan("theirs", owner="MyOrg2MSP")

    page = user_client.get(f"/console/plans/{theirs.key}/").content.decode()
    answer = csrf_post(user_client, f"/console/plans/{theirs.key}/cancel/")

    assert "Cancel this plan" not in page
    assert answer.status_code == 302
    theirs.refresh_from_db()
    assert theirs.status == "PLAN_STATUS_DOING"


@pytest.mark.django_db
def test_the_console_css_and_scripts_are_served_without_collectstatic(user_client):
    for name in ("console.css", "graph.js", "chart.js", "plan.js", "live.js"):
        answer = user_client.get(f"/static/console/{name}")
        assert answer.status_code == 200, name


def test_a_name_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text():
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_safe("accuracy") == "accuracy"
