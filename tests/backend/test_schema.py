"""The OpenAPI schema and its browsable views."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/schema/", "/schema/swagger-ui/", "/schema/redoc/"])
def test_the_schema_and_its_views_are_served(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.django_db
def test_the_schema_describes_the_sdk_endpoints_and_token_authentication(client):
    schema = client.get("/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert {"/api-token-auth/", "/active-api-tokens/", "/info/", "/organization/", "/users/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"


def schema_of(client) -> dict:
    return client.get("/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def parameters_of(schema, path) -> set[str]:
    return {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}


@pytest.mark.django_db
def test_the_schema_declares_every_filter_of_every_list(client):
    schema = schema_of(client)

    sdk_filters = {"key", "owner", "ordering"}
    assert sdk_filters | {"worker", "status", "metadata", "match", "function_key", "dataset_key"} <= parameters_of(
        schema, "/compute_plan/"
    )
    assert sdk_filters | {"worker", "rank", "status", "metadata", "compute_plan_key", "function_key"} <= parameters_of(
        schema, "/task/"
    )
    assert sdk_filters | {"compute_task_key", "permissions"} <= parameters_of(schema, "/model/")
    assert sdk_filters | {"match", "permissions", "data_sample_key"} <= parameters_of(schema, "/data_manager/")
    assert sdk_filters | {"match", "permissions", "dataset_key"} <= parameters_of(schema, "/function/")
    date_ranges = {
        f"{date}_{end}" for date in ("creation_date", "start_date", "end_date") for end in ("after", "before")
    }
    assert date_ranges <= parameters_of(schema, "/compute_plan/") & parameters_of(schema, "/task/")


@pytest.mark.django_db
def test_the_schema_declares_the_dates_that_can_be_null_as_nullable(client):
    components = schema_of(client)["components"]["schemas"]

    for name in ("ComputePlan", "Task"):
        for date in ("start_date", "end_date"):
            assert components[name]["properties"][date].get("nullable") is True, (name, date)
    assert components["ComputePlan"]["properties"]["estimated_end_date"]["nullable"] is True


@pytest.mark.django_db
def test_the_schema_declares_registrations_as_bare_arrays_and_errors_in_the_one_shape(client):
    paths = schema_of(client)["paths"]

    for path in ("/data_sample/", "/task/bulk_create/"):
        answer = next(iter(paths[path]["post"]["responses"].values()))
        assert answer["content"]["application/json"]["schema"]["type"] == "array", path
    refused = paths["/compute_plan/"]["get"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert refused == {"$ref": "#/components/schemas/Error"}
