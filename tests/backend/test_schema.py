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
