"""The OpenAPI schema, fuzzed: schemathesis generates requests for every operation the schema
declares (filters included) and sends them, with a user's token, to a live backend whose
orchestrator is real. No answer may be a 5xx, and every answer must be what the schema says:
a declared status, the declared content type, a body of the declared shape.

Bounded to stay quick on two cores: a few examples per operation, positive data (what the schema
allows; the refusals of bad values are tested in test_list_filters.py), no shrinking. NUL characters
and lone surrogates are not generated: refusing them is the request middleware's job, tested with
the one definition of what the platform stores (orchestrator_client/limits.py)."""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from substrapp.orchestration import close_orchestrator_clients
from tests.backend.conftest import client_of, make_user
from tests.backend.network import orchestrator_of_its_own, point_backend_at

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def network(tmp_path_factory, authority):
    with orchestrator_of_its_own(tmp_path_factory.mktemp("schema-fuzz"), authority) as (clients, _):
        yield clients


@pytest.fixture
def backend(network, settings, authority, tmp_path, live_server):
    """This backend, live, as organization 1 of a real orchestrator's network."""
    point_backend_at(settings, network.orchestrator, authority, tmp_path)
    yield live_server.url
    close_orchestrator_clients()


@pytest.fixture
def token(db):
    return client_of(make_user("fuzzer"))._credentials["HTTP_AUTHORIZATION"]


def fuzz(operation, send) -> str | None:
    """Sends generated requests for one operation; the first failure, described, or None."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure says enough
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def send_each(case):
        send(case)

    try:
        send_each()
    except (Exception, BaseExceptionGroup) as failure:  # a failed check, described with its request
        return f"{operation.label}: {failure}"
    return None


def test_every_operation_answers_as_its_schema_says_and_never_with_a_server_error(backend, token):
    schema = schemathesis.openapi.from_url(f"{backend}/schema/?format=json")
    schema.config.generation.update(allow_x00=False, codec="utf-8")
    operations = [result.ok() for result in schema.get_all_operations()]
    session = requests.Session()

    def send(case):
        case.call_and_validate(base_url=backend, session=session, headers={"Authorization": token}, checks=CHECKS)

    failures = [failure for operation in operations if (failure := fuzz(operation, send))]

    assert len(operations) > 30  # every route of the API
    assert not failures, "\n\n".join(failures)
