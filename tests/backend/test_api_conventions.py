"""What every endpoint shares: the error shape, pagination, the SDK's Accept header, size limit."""

import pytest
from rest_framework.exceptions import ValidationError

import orchestrator_client
from substrapp.api.errors import Conflict, exception_handler
from substrapp.archives import ArchiveError
from substrapp.serverpaths import ServerPathError
from substrapp.storage import UploadTooLarge
from tests.backend.conftest import client_of, make_user

SDK_HEADERS = {"HTTP_ACCEPT": "application/json;version=0.0"}


@pytest.mark.django_db
def test_next_links_are_absolute_and_carry_each_query_parameter_once(admin):
    for name in ("u1", "u2", "u3", "u4"):
        make_user(name)
    client = client_of(admin)

    first = client.get("/users/?role=USER&role=USER&page_size=2").json()
    # The SDK sends its parameters again with every `next` it follows.
    second = client.get(first["next"] + "&role=USER&page_size=2").json()

    assert first["count"] == 4
    assert first["next"] == "http://testserver/users/?role=USER&page_size=2&page=2"
    assert first["previous"] is None
    assert [u["username"] for u in first["results"] + second["results"]] == ["u1", "u2", "u3", "u4"]
    assert second["next"] is None
    assert second["previous"] == "http://testserver/users/?role=USER&page_size=2"


@pytest.mark.django_db
def test_a_page_past_the_end_is_a_404(admin):
    assert client_of(admin).get("/users/?page=9").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/info/", "/organization/", "/users/"])
def test_the_sdk_accept_header_with_its_version_is_served_as_json(admin, path):
    response = client_of(admin).get(path, **SDK_HEADERS)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_an_unknown_path_is_a_json_404(admin):
    response = client_of(admin).get("/no_such_asset/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_a_method_not_allowed_has_the_same_error_shape(admin):
    response = client_of(admin).put("/info/", {}, format="json")

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"}


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_refused_with_a_413_before_it_is_read(admin, settings):
    settings.UPLOAD_MAX_BYTES = 100

    response = client_of(admin).post("/users/", {"username": "x" * 200}, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (orchestrator_client.InvalidRequest("bad", code="INVALID_FIELD"), 400, "invalid_field"),
        (orchestrator_client.InvalidTransition("done", code="INVALID_TRANSITION"), 400, "invalid_transition"),
        (orchestrator_client.PermissionDenied("no", code="WORKER_NOT_PERMITTED"), 403, "worker_not_permitted"),
        (orchestrator_client.NotFound("none", code="NOT_FOUND"), 404, "not_found"),
        (orchestrator_client.Conflict("twice", code="CONFLICT"), 409, "conflict"),
        (orchestrator_client.Unavailable("down"), 503, "orchestrator_unavailable"),
        (orchestrator_client.Unauthenticated("bad certificate"), 500, "orchestrator_error"),
    ],
)
def test_orchestrator_errors_become_the_statuses_the_sdk_maps(error, status, code):
    response = exception_handler(error, {})

    assert (response.status_code, response.data["code"]) == (status, code)


def test_a_conflict_carries_the_existing_key():
    response = exception_handler(Conflict("The dataset exists.", key="1234"), {})

    assert (response.status_code, response.data) == (
        409,
        {"detail": "The dataset exists.", "code": "conflict", "key": "1234"},
    )


def test_nested_validation_errors_read_as_one_message_and_keep_their_fields():
    error = ValidationError({"permissions": {"authorized_ids": ["Unknown organization."]}, "name": ["Too long."]})

    response = exception_handler(error, {})

    assert response.data["detail"] == "permissions.authorized_ids: Unknown organization. name: Too long."
    assert response.data["errors"] == {
        "permissions": {"authorized_ids": ["Unknown organization."]},
        "name": ["Too long."],
    }


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UploadTooLarge(1024), 413, "too_large"),
        (ArchiveError("'../evil': a member may not climb out of the archive with '..'."), 400, "invalid_archive"),
        (ServerPathError("'/etc' is not inside a folder this organization allows data from."), 400, "invalid_path"),
    ],
)
def test_the_file_layers_refusals_become_4xx_with_their_message(error, status, code):
    response = exception_handler(error, {})

    assert (response.status_code, response.data) == (status, {"detail": str(error), "code": code})
