"""The OpenAPI schema, fuzzed: schemathesis generates requests for every operation the schema
declares (filters included) and sends them, with an admin's token, to a live backend whose
orchestrator is real. No answer may be a 5xx, and every answer must be what the schema says: a
declared status, the declared content type, a body of the declared shape.

The backend holds datasets and functions (one of each registered here, its files served here),
samples, plans, tasks done, failed (with logs) and not started (dates null), a model and a
performance, so lists and reads answer real rows: each operation is fuzzed with generated keys and
again with the key of each asset that exists, with data the schema allows and data it does not.
Bounded to stay quick on two cores: a few examples per operation and mode, no shrinking (about 700
requests in 50 s here). Lone surrogates and deep JSON are sent by hand in test_storable_input.py."""

import collections
import json
import time

import pytest
import requests
import schemathesis
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from substrapp.consumer import consume
from substrapp.mirror import save_snapshots, snapshot_of
from substrapp.models import FailureReport, Model
from substrapp.models.scoping import wait_for_writes_behind
from substrapp.orchestration import close_orchestrator_clients
from tests.backend.conftest import client_of, make_user
from tests.backend.network import orchestrator_of_its_own, point_backend_at
from tests.backend.registering import tar_gz_of, upload
from tests.conftest import ORG1, ORG2
from tests.orchestrator.conftest import ADDRESS, World, new_key

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "mychannel"
EXAMPLES = 6  # per operation, mode and kind of key


def no_server_fault(ctx, response, case):
    """No 5xx but those the schema declares, for faults elsewhere: 502 when the organization that
    holds a file fails to give it (here, another organization this backend has no credentials
    for), 503 when the database or the orchestrator cannot be reached."""
    if response.status_code >= 500 and str(response.status_code) not in case.operation.definition.raw["responses"]:
        raise ServerError(operation=case.operation.label, status_code=response.status_code)


CHECKS = [no_server_fault, status_code_conformance, content_type_conformance, response_schema_conformance]


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
def admin_api(backend):
    return client_of(make_user("fuzzer", role="ADMIN"))


@pytest.fixture
def assets(network, admin_api) -> dict[str, list[str]]:
    """Keys of what exists, by family: a dataset and its samples (mirrored); functions; a plan
    whose training task is done with a model and whose evaluation is done with a performance; a
    plan whose task failed, its logs here; a task not started yet (its dates null)."""
    world = World(network)
    org1 = network(ORG1)
    save_snapshots(CHANNEL, "ASSET_DATA_MANAGER", [snapshot_of(org1.get_data_manager(world.data_manager))])
    save_snapshots(CHANNEL, "ASSET_DATA_SAMPLE", [snapshot_of(org1.get_data_sample(key)) for key in world.samples])
    done_plan, failed_plan = new_plan(admin_api), new_plan(admin_api)
    train, evaluate, failed, waiting = (
        task_of(world, plan) for plan in (done_plan, done_plan, failed_plan, failed_plan)
    )
    evaluate.update(
        function_key=world.evaluate,
        inputs=[*train["inputs"], parent_output("model", train["key"])],
        outputs={"performance": {"permissions": {"public": True, "authorized_ids": []}}},
    )
    waiting["inputs"].append(parent_output("models", failed["key"]))
    for batch in ([train, evaluate], [failed, waiting]):
        registered = admin_api.post("/task/bulk_create/", {"tasks": batch}, format="json")
        assert registered.status_code == 200, registered.json()
    wait_for_writes_behind(CHANNEL)  # the rows are written behind the answer; these tests read them directly
    world.run(train["key"])
    org1.apply_task_action(evaluate["key"], "TASK_ACTION_EXECUTING")
    performance = {"compute_task_output_identifier": "performance", "performance_value": 0.5}
    org1.complete_task(evaluate["key"], performances=[performance])
    org1.register_failure_report(
        asset_key=failed["key"], asset_kind="ASSET_COMPUTE_TASK", error_type="EXECUTION_ERROR", logs_address=ADDRESS
    )
    consume(CHANNEL, stop_when_idle=True, idle_seconds=1.0)
    FailureReport.objects.filter(asset_key=failed["key"]).update(
        logs_file=default_storage.save("logs/fuzzed.txt", ContentFile("it broke é".encode()))
    )
    return {
        "compute_plan": [done_plan, failed_plan],
        "data_manager": [world.data_manager, registered_here(admin_api, "/data_manager/", DATASET)],
        "function": [world.train, registered_here(admin_api, "/function/", FUNCTION)],
        "data_sample": world.samples[:1],
        "task": [train["key"], evaluate["key"], failed["key"], waiting["key"]],
        "model": list(Model.objects.values_list("key", flat=True)),
    }


DATASET = {
    "json": json.dumps(
        {
            "name": "registered here",
            "type": "csv",
            "permissions": {"public": True, "authorized_ids": []},
            "logs_permission": {"public": True, "authorized_ids": []},
        }
    ),
    "data_opener": ("opener.py", b"import substratools as tools\n"),
    "description": ("description.md", "# Données\n".encode()),
}
FUNCTION = {
    "json": json.dumps(
        {
            "name": "registered here",
            "permissions": {"public": True, "authorized_ids": []},
            "inputs": {},
            "outputs": {"model": {"kind": "ASSET_MODEL", "multiple": False}},
        }
    ),
    "file": ("function.tar.gz", tar_gz_of({"Dockerfile": b"FROM python:3.11\n"})),
    "description": ("description.md", b"# Fonction\n"),
}


def registered_here(api, path, form) -> str:
    """An asset registered through this backend: its files are here, and served."""
    parts = {name: upload(*value) if isinstance(value, tuple) else value for name, value in form.items()}
    answer = api.post(path, parts, format="multipart")
    assert answer.status_code == 201, answer.json()
    return answer.json()["key"]


def new_plan(api) -> str:
    answer = api.post("/compute_plan/", {"key": new_key(), "name": "fuzzed", "metadata": {"a": "b"}}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()["key"]


def task_of(world, plan) -> dict:
    """A training task of `plan` on this organization, as the SDK sends it."""
    return {
        "key": new_key(),
        "function_key": world.train,
        "compute_plan_key": plan,
        "worker": ORG1,
        "inputs": [
            {"identifier": "opener", "asset_key": world.data_manager},
            *({"identifier": "datasamples", "asset_key": sample} for sample in world.samples),
        ],
        "outputs": {"model": {"permissions": {"public": False, "authorized_ids": [ORG1, ORG2]}}},
    }


def parent_output(identifier, parent) -> dict:
    return {"identifier": identifier, "parent_task_key": parent, "parent_task_output_identifier": "model"}


def fuzz(operation, send, mode, **fixed) -> str | None:
    """Sends generated requests for one operation; the first failure, described, or None."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure says enough
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def send_each(case):
        send(case)

    try:
        send_each()
    except (Exception, BaseExceptionGroup) as failure:  # a failed check, described with its request
        return f"{operation.label} ({mode.value}, {fixed or 'generated keys'}): {failure}"
    return None


def modes(operation) -> list[GenerationMode]:
    """Data the schema forbids exists only where the schema constrains something: a query or a body."""
    if len(operation.query) or len(operation.body):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def known_keys(operation, assets) -> list[dict]:
    """The path parameters naming assets that exist, for an operation that takes some."""
    names = {parameter.name for parameter in operation.path_parameters}
    if names == {"key"}:
        family = operation.path.strip("/").split("/")[0]
        return [{"path_parameters": {"key": key}} for key in assets.get(family, [])]
    if names == {"username"}:
        return [{"path_parameters": {"username": "fuzzer"}}]
    return []


def test_every_operation_answers_as_its_schema_says_and_never_with_a_server_error(backend, admin_api, assets):
    token = admin_api._credentials["HTTP_AUTHORIZATION"]
    schema = schemathesis.openapi.from_url(f"{backend}/schema/?format=json")
    # NUL characters included (the request middleware refuses them before any view); text is what
    # UTF-8 encodes, as an HTTP client sends it: see test_storable_input.py.
    schema.config.generation.update(allow_x00=True, codec="utf-8")
    operations = [result.ok() for result in schema.get_all_operations()]
    session = requests.Session()
    answered = collections.Counter()

    def send(case):
        response = case.call_and_validate(
            base_url=backend, session=session, headers={"Authorization": token}, checks=CHECKS
        )
        answered[response.status_code] += 1

    started = time.monotonic()
    failures = [
        failure
        for operation in operations
        for fixed in [{}, *known_keys(operation, assets)]
        for mode in modes(operation)
        if (failure := fuzz(operation, send, mode, **fixed))
    ]
    print(
        f"{len(operations)} operations, {answered.total()} requests in {time.monotonic() - started:.0f} s:",
        dict(answered),
    )

    assert len(operations) > 30  # every route of the API
    assert not failures, "\n\n".join(failures)
