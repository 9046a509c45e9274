"""Every list is filtered by FilterSets (substrapp/api/filtersets/): the same bad value gets the
same 400 in the one error shape on every list, and the frontend's orderings and date ranges work.
The plans are mirror rows written here: filtering reads only the mirror."""

import datetime
import uuid

import pytest

from substrapp.models import ComputePlan
from tests.backend.conftest import client_of

LISTS = ["/compute_plan/", "/task/", "/model/", "/data_manager/", "/data_sample/", "/function/"]
BAD_VALUES = {
    "/compute_plan/": [("status", "DONE"), ("metadata", "not json"), ("metadata", '[{"key": "a"}]')],
    "/task/": [("status", "DONE"), ("rank", "first"), ("rank", "99999999999999999999"), ("metadata", "[[[[1]]]]")],
}
NOON = datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC)


@pytest.fixture
def api(user):
    return client_of(user)


def refused(answer, parameter):
    body = answer.json()
    return answer.status_code == 400 and body["detail"].startswith(f"{parameter}: ") and parameter in body["errors"]


@pytest.mark.django_db
def test_an_unknown_ordering_gets_the_same_answer_from_every_list(api):
    answers = [api.get(path, {"ordering": "-checksum"}) for path in LISTS]

    assert all(refused(answer, "ordering") for answer in answers)
    assert len({answer.content for answer in answers}) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("path", LISTS)
def test_a_date_that_is_no_date_is_refused_alike_on_every_list_that_has_one(api, path):
    answer = api.get(path, {"creation_date_after": "yesterday"})
    if path in ("/compute_plan/", "/task/"):
        assert refused(answer, "creation_date")
    else:
        assert answer.status_code == 200  # not a filter of this list: ignored, as any unknown parameter


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "parameter", "value"), [(p, n, v) for p, values in BAD_VALUES.items() for n, v in values]
)
def test_bad_filter_values_are_refused_with_the_one_error_shape(api, path, parameter, value):
    answer = api.get(path, {parameter: value})

    assert refused(answer, parameter)
    assert set(answer.json()) == {"detail", "code", "errors"}


def plan(name, started_hours_ago=None, ran_hours=None, status="PLAN_STATUS_DOING"):
    start = None if started_hours_ago is None else NOON - datetime.timedelta(hours=started_hours_ago)
    end = None if ran_hours is None else start + datetime.timedelta(hours=ran_hours)
    return ComputePlan.objects.create(
        key=str(uuid.uuid4()),
        channel="mychannel",
        name=name,
        owner="MyOrg1MSP",
        status=status,
        creation_date=NOON - datetime.timedelta(days=1),
        start_date=start,
        end_date=end,
    ).key


def keys(api, **query):
    answer = api.get("/compute_plan/", query)
    assert answer.status_code == 200, answer.json()
    return [row["key"] for row in answer.json()["results"]]


@pytest.mark.django_db
def test_plans_are_ordered_by_duration_name_and_status_with_unset_values_last(api):
    short = plan("b-short", started_hours_ago=5, ran_hours=1, status="PLAN_STATUS_DONE")
    long = plan("c-long", started_hours_ago=5, ran_hours=3, status="PLAN_STATUS_FAILED")
    waiting = plan("a-waiting", status="PLAN_STATUS_CREATED")

    assert keys(api, ordering="duration") == [short, long, waiting]
    assert keys(api, ordering="-duration") == [long, short, waiting]
    assert keys(api, ordering="name") == [waiting, short, long]
    assert keys(api, ordering="-status") == [long, short, waiting]


@pytest.mark.django_db
def test_plans_are_filtered_by_date_ranges_as_the_frontend_sends_them(api):
    early = plan("early", started_hours_ago=48, ran_hours=1)
    late = plan("late", started_hours_ago=2, ran_hours=1)
    plan("not started")

    assert keys(api, start_date_after="2026-01-10", ordering="creation_date") == [late]
    assert keys(api, end_date_before="2026-01-08T23:59:59.999999Z") == [early]
    assert keys(api, start_date_after="2026-01-01", start_date_before="2026-01-10T23:59:59.999999Z") == sorted(
        [early, late]
    )


@pytest.mark.django_db
def test_dates_with_any_offset_python_reads_are_compared_in_utc_or_refused(api):
    late = plan("late", started_hours_ago=2, ran_hours=1)

    # -22:13 is beyond what PostgreSQL accepts (±15:59); in UTC it is the next day.
    assert keys(api, start_date_after="2026-01-09T23:00:00-22:13") == []
    assert keys(api, start_date_after="2026-01-09T11:00:00-22:13") == [late]
    assert refused(api.get("/task/", {"end_date_before": "0001-01-01T00:00:00+23:00"}), "end_date")


@pytest.mark.django_db
def test_plans_are_filtered_by_duration_in_seconds_and_what_has_not_ended_never_matches(api):
    short = plan("short", started_hours_ago=5, ran_hours=1)
    long = plan("long", started_hours_ago=5, ran_hours=3)
    plan("running", started_hours_ago=5)

    assert keys(api, duration_min=3600, ordering="duration") == [short, long]
    assert keys(api, duration_min=3601) == [long]
    assert keys(api, duration_max=3600) == [short]
    assert refused(api.get("/task/", {"duration_max": "an hour"}), "duration_max")
