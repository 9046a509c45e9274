"""No user input can halt the network: a NUL character, an unpaired UTF-16 surrogate, an over-long
value or JSON nested too deep, in any string or JSON field of any registration, rename, user or
filter, is a 400 with a code in the API's one error shape; the orchestrator records nothing, no
stored file stays behind, and the event consumer still applies every event of the channel.

A real orchestrator (a module's own), this backend as org 1 over PostgreSQL, DRF's client for raw
HTTP (bodies written by hand, so that lone surrogates travel as JSON escapes), and the real
substra SDK on a live server where it can send the value."""

import base64
import json
import uuid
from urllib.parse import quote

import pytest
import substra
from substra.sdk import exceptions, schemas

from orchestrator_client import limits
from substrapp.consumer import consume
from substrapp.mirror import save_snapshots, snapshot_of
from substrapp.models import ComputePlan
from tests.backend.conftest import PASSWORD, client_of, make_user
from tests.backend.network import orchestrator_of_its_own
from tests.backend.registering import Backend, tar_gz_of, upload, write_folder, zip_of
from tests.conftest import ORG1, ORG2
from tests.orchestrator.conftest import World, new_key
from tests.orchestrator.test_validation import EventWatch

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "mychannel"
NUL = "a\x00b"
SURROGATE = "a\ud800b"
DEEP = 200  # levels: past the limit (32), short of the decoder's recursion limit
VERY_DEEP = 100_000  # past the decoder's recursion limit too
DEEP_QUERY = 15_000  # past the decoder's recursion limit, within a query parameter's length
# The bad texts, each with the codes it may be refused with: the one definition's, or DRF's own
# length check on a serializer field.
BAD_TEXTS = {
    "nul": (NUL, {"invalid_text"}),
    "surrogate": (SURROGATE, {"invalid_text"}),
    "over_long": ("x" * 5_000, {"max_length", "limit_exceeded"}),
}


def nested(depth: int):
    value = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def deep_json_text(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.fixture(scope="module")
def network(tmp_path_factory, authority):
    with orchestrator_of_its_own(tmp_path_factory.mktemp("storable-input"), authority) as (clients, _):
        yield clients


@pytest.fixture(scope="module")
def ledger(network):
    """The orchestrator's event log, read with marker plans: what a request recorded."""
    return EventWatch(network(ORG1))


@pytest.fixture
def backend(network, settings, authority, tmp_path):
    made = Backend(network, settings, authority, tmp_path)
    yield made
    made.close()


@pytest.fixture
def api(backend):
    return client_of(make_user("bob"))


@pytest.fixture
def world(network, backend):
    """Datasets and functions on the orchestrator, the dataset and its samples mirrored."""
    world = World(network)
    org1 = network(ORG1)
    save_snapshots(CHANNEL, "ASSET_DATA_MANAGER", [snapshot_of(org1.get_data_manager(world.data_manager))])
    save_snapshots(CHANNEL, "ASSET_DATA_SAMPLE", [snapshot_of(org1.get_data_sample(key)) for key in world.samples])
    return world


def assert_refused(response, codes) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] in codes, body
    assert isinstance(body["detail"], str) and body["detail"], body


def post_json(api, path: str, body, method="post"):
    """A JSON body as the SDK sends it (`requests`' json=: ASCII, surrogates as \\u escapes)."""
    return getattr(api, method)(path, data=json.dumps(body), content_type="application/json")


# Registrations with files: datasets, data samples, functions


def dataset_spec(**changes):
    return {
        "name": "hospital data",
        "permissions": {"public": False, "authorized_ids": [ORG2]},
        "logs_permission": {"public": False, "authorized_ids": []},
        **changes,
    }


def dataset_form(json_text: str) -> dict:
    return {
        "json": json_text,
        "data_opener": upload("opener.py", b"import substratools\n"),
        "description": upload("description.md", b"# data\n"),
    }


def with_bad(where: str, bad: str) -> dict:
    """A spec change that puts `bad` at `where`."""
    field, _, part = where.partition(".")
    if field == "metadata":
        return {"metadata": {bad: "v"} if part == "key" else {"k": bad}}
    if field in ("permissions", "logs_permission"):
        return {field: {"public": False, "authorized_ids": [bad]}}
    return {field: bad}


DATASET_FIELDS = ["name", "type", "metadata.key", "metadata.value", "permissions", "logs_permission"]


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
@pytest.mark.parametrize("where", DATASET_FIELDS)
def test_a_dataset_with_a_bad_text_anywhere_is_refused_before_a_file_is_stored(api, backend, ledger, where, bad):
    text, codes = BAD_TEXTS[bad]
    ledger.mark()

    response = api.post("/data_manager/", dataset_form(json.dumps(dataset_spec(**with_bad(where, text)))))

    assert_refused(response, codes)
    assert ledger.mark() == [], "the orchestrator recorded nothing"
    assert backend.stored_files() == []


@pytest.mark.parametrize("depth", [DEEP, VERY_DEEP])
def test_a_multipart_json_field_nested_too_deep_is_refused(api, backend, ledger, depth):
    ledger.mark()
    deep = json.dumps(dataset_spec())[:-1] + ', "metadata": ' + deep_json_text(depth) + "}"

    response = api.post("/data_manager/", dataset_form(deep))

    assert_refused(response, {"too_deep"})
    assert ledger.mark() == [] and backend.stored_files() == []


@pytest.mark.parametrize("path", ["/data_manager/", "/function/", "/data_sample/"])
def test_a_multipart_json_field_sent_as_a_file_is_refused(api, backend, ledger, path):
    ledger.mark()
    if path == "/data_manager/":
        form = dataset_form("")
    elif path == "/function/":
        form = function_form("")
    else:
        form = {"sample": zip_of({"x": b"1"})}
    form["json"] = upload("spec.json", b'{"name": "x"}')

    response = api.post(path, form)

    assert_refused(response, {"json_as_file"})
    assert ledger.mark() == [] and backend.stored_files() == []


def test_a_dataset_the_orchestrator_refuses_after_its_files_were_stored_leaves_no_file(api, backend, ledger):
    ledger.mark()
    unknown = dataset_spec(permissions={"public": False, "authorized_ids": ["MyOrg9MSP"]})

    response = api.post("/data_manager/", dataset_form(json.dumps(unknown)))

    assert_refused(response, {"unknown_organization"})
    assert ledger.mark() == [] and backend.stored_files() == []


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
def test_data_samples_with_a_bad_dataset_key_or_server_path_are_refused(api, backend, ledger, bad):
    text, _ = BAD_TEXTS[bad]
    ledger.mark()

    uploaded = api.post("/data_sample/", {"json": json.dumps({"data_manager_keys": [text]}), "s": zip_of({"x": b"1"})})
    in_place = post_json(api, "/data_sample/", {"data_manager_keys": [new_key()], "path": "/data/" + text})

    assert_refused(uploaded, {"invalid_text", "max_length", "invalid"})
    assert_refused(in_place, {"invalid_text", "max_length"})
    assert ledger.mark() == [] and backend.stored_files() == []


def function_spec(**changes):
    return {
        "name": "train",
        "permissions": {"public": True, "authorized_ids": []},
        "inputs": {"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}},
        "outputs": {"model": {"kind": "ASSET_MODEL", "multiple": False}},
        **changes,
    }


def function_form(json_text: str) -> dict:
    return {
        "json": json_text,
        "file": upload("function.tar.gz", tar_gz_of({"Dockerfile": b"FROM python:3.11\n"})),
        "description": upload("description.md", b"# function\n"),
    }


FUNCTION_FIELDS = ["name", "metadata.key", "metadata.value", "permissions", "inputs", "outputs"]


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
@pytest.mark.parametrize("where", FUNCTION_FIELDS)
def test_a_function_with_a_bad_text_anywhere_is_refused_before_a_file_is_stored(api, backend, ledger, where, bad):
    text, codes = BAD_TEXTS[bad]
    if where == "inputs":
        change = {"inputs": {text: {"kind": "ASSET_MODEL", "multiple": True, "optional": True}}}
    elif where == "outputs":
        change = {"outputs": {text: {"kind": "ASSET_MODEL", "multiple": False}}}
    else:
        change = with_bad(where, text)
    ledger.mark()

    response = api.post("/function/", function_form(json.dumps(function_spec(**change))))

    assert_refused(response, codes)
    assert ledger.mark() == [] and backend.stored_files() == []


# Compute plans, tasks, renames, users: JSON bodies


PLAN_FIELDS = ["key", "name", "tag", "metadata.key", "metadata.value"]


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
@pytest.mark.parametrize("where", PLAN_FIELDS)
def test_a_compute_plan_with_a_bad_text_anywhere_is_refused(api, ledger, where, bad):
    text, codes = BAD_TEXTS[bad]
    plan = {"key": new_key(), "name": "plan", **with_bad(where, text)}
    ledger.mark()

    response = post_json(api, "/compute_plan/", plan)

    assert_refused(response, codes | {"invalid"})  # a bad key is not a UUID: `invalid`
    assert ledger.mark() == []
    assert not ComputePlan.objects.exists()


@pytest.mark.parametrize("depth", [DEEP, VERY_DEEP])
@pytest.mark.parametrize("path", ["/compute_plan/", "/task/bulk_create/"])
def test_a_json_body_nested_too_deep_is_refused(api, ledger, path, depth):
    ledger.mark()

    response = api.post(path, data='{"tasks": ' + deep_json_text(depth) + "}", content_type="application/json")

    assert_refused(response, {"too_deep"})
    assert ledger.mark() == []


def test_a_json_body_with_nan_is_refused(api, ledger):
    ledger.mark()
    response = api.post("/compute_plan/", data='{"key": "k", "name": NaN}', content_type="application/json")
    assert_refused(response, {"invalid_json"})
    assert ledger.mark() == []


def new_plan(api) -> str:
    key = new_key()
    assert post_json(api, "/compute_plan/", {"key": key, "name": "plan"}).status_code == 201
    return key


def task(world, plan, **changes):
    return {
        "key": new_key(),
        "function_key": world.train,
        "compute_plan_key": plan,
        "worker": ORG1,
        "tag": None,
        "metadata": None,
        "rank": None,
        "inputs": [
            {"identifier": "opener", "asset_key": world.data_manager},
            *({"identifier": "datasamples", "asset_key": sample} for sample in world.samples),
        ],
        "outputs": {"model": {"permissions": {"public": False, "authorized_ids": [ORG1, ORG2]}, "transient": False}},
        **changes,
    }


def task_with_bad(world, plan, where, bad):
    if where in ("tag", "worker"):
        return task(world, plan, **{where: bad})
    if where.startswith("metadata"):
        return task(world, plan, **with_bad(where, bad))
    sent = task(world, plan)
    if where == "input_identifier":
        sent["inputs"][0]["identifier"] = bad
    elif where == "parent_output_identifier":
        sent["inputs"].append(
            {"identifier": "models", "parent_task_key": new_key(), "parent_task_output_identifier": bad}
        )
    elif where == "output_identifier":
        sent["outputs"] = {bad: sent["outputs"]["model"]}
    elif where == "output_authorized_id":
        sent["outputs"]["model"]["permissions"]["authorized_ids"].append(bad)
    return sent


TASK_FIELDS = [
    "tag",
    "worker",
    "metadata.key",
    "metadata.value",
    "input_identifier",
    "parent_output_identifier",
    "output_identifier",
    "output_authorized_id",
]


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
@pytest.mark.parametrize("where", TASK_FIELDS)
def test_a_task_batch_with_a_bad_text_anywhere_is_refused_whole(api, world, ledger, where, bad):
    text, codes = BAD_TEXTS[bad]
    plan = new_plan(api)
    batch = [task(world, plan), task_with_bad(world, plan, where, text)]
    ledger.mark()

    response = post_json(api, "/task/bulk_create/", {"tasks": batch})

    assert_refused(response, codes | {"unknown_organization"})  # an over-long worker is unknown
    assert ledger.mark() == []
    assert network_task_count(world, plan) == 0


def network_task_count(world, plan) -> int:
    return world.client(ORG1).get_compute_plan(plan).task_count


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
def test_renaming_a_dataset_function_or_plan_to_a_bad_name_is_refused(api, world, ledger, bad):
    text, codes = BAD_TEXTS[bad]
    org1 = world.client(ORG1)
    function = world.function(ORG1, {"public": True, "authorized_ids": []}, inputs={}, outputs={})
    save_snapshots(CHANNEL, "ASSET_FUNCTION", [snapshot_of(org1.get_function(function))])
    plan = new_plan(api)
    ledger.mark()

    for path in (f"/data_manager/{world.data_manager}/", f"/function/{function}/", f"/compute_plan/{plan}/"):
        assert_refused(post_json(api, path, {"name": text}, method="put"), codes)

    assert ledger.mark() == []
    assert org1.get_data_manager(world.data_manager).name == "hospital data"
    assert org1.get_function(function).name == "function"
    assert org1.get_compute_plan(plan).name == "plan"


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
@pytest.mark.parametrize("field", ["username", "password"])
def test_a_user_with_a_bad_username_or_password_is_refused(backend, field, bad):
    text, codes = BAD_TEXTS[bad]
    admin = client_of(make_user("alice", role="ADMIN"))
    body = {"username": "newcomer", "password": "a long enough passphrase 42", field: text}

    response = post_json(admin, "/users/", body)

    assert_refused(response, codes | {"invalid"})  # Django's username and password validators
    assert admin.get("/users/newcomer/").status_code == 404


@pytest.mark.parametrize("bad", ["nul", "surrogate"])
def test_a_login_with_a_bad_username_is_refused_not_a_server_error(backend, bad):
    text, codes = BAD_TEXTS[bad]
    response = post_json(client_of(make_user("bob")), "/api-token-auth/", {"username": text, "password": "x"})
    assert_refused(response, codes)


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=BAD_TEXTS.keys())
def test_a_form_encoded_body_with_a_bad_value_is_refused(api, ledger, bad):
    """(A surrogate, percent-encoded as the bytes UTF-8 would give it, is decoded as U+FFFD.)"""
    text, codes = BAD_TEXTS[bad]
    form = f"data_manager_keys={new_key()}&data_sample_keys={quote(text, errors='surrogatepass')}"
    ledger.mark()

    response = api.post("/data_sample/bulk_update/", data=form, content_type="application/x-www-form-urlencoded")

    assert_refused(response, codes | {"invalid", "invalid_key"})
    assert ledger.mark() == []


def test_peer_credentials_with_a_nul_are_invalid_credentials_not_a_server_error(backend):
    from rest_framework.test import APIClient

    basic = base64.b64encode(f"{ORG2}\x00:password".encode()).decode()
    response = APIClient().get(f"/data_manager/{new_key()}/opener/", HTTP_AUTHORIZATION=f"Basic {basic}")

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "invalid_credentials"


def test_a_cookie_with_a_nul_is_refused_not_a_server_error(api):
    """A quoted cookie value decodes octal escapes: `"\\000"` is a NUL for the session lookup."""
    api.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert_refused(api.get("/data_manager/"), {"invalid_text"})


# Filters and path segments


LISTS = {
    "/compute_plan/": ["key", "owner", "match", "worker", "status", "function_key", "dataset_key", "data_sample_key"],
    "/task/": ["key", "owner", "worker", "compute_plan_key", "function_key", "status", "rank"],
    "/model/": ["key", "owner", "compute_task_key", "permissions"],
    "/data_manager/": ["key", "owner", "match", "permissions", "compute_plan_key", "function_key"],
    "/function/": ["key", "owner", "match", "permissions", "compute_plan_key", "dataset_key"],
    "/data_sample/": ["key", "owner", "dataset_key"],
}
FILTERS = [(path, name) for path, names in LISTS.items() for name in names]


@pytest.mark.parametrize(("path", "name"), FILTERS, ids=[f"{path.strip('/')}-{name}" for path, name in FILTERS])
def test_a_list_filter_with_a_nul_or_over_long_value_is_refused(api, path, name):
    assert_refused(api.get(path, {name: NUL}), {"invalid_text"})
    assert_refused(api.get(path, {name: "k" * 50_000}), {"limit_exceeded"})
    assert_refused(api.get(path, {name + "\x00": "v"}), {"invalid_text"})


METADATA_FILTERS = {
    "nul_key": ([{"key": NUL, "type": "exists"}], {"invalid_text"}),
    "nul_value": ([{"key": "k", "type": "is", "value": NUL}], {"invalid_text"}),
    "surrogate_key": ([{"key": SURROGATE, "type": "exists"}], {"invalid_text"}),
    "surrogate_value": ([{"key": "k", "type": "contains", "value": SURROGATE}], {"invalid_text"}),
    "deep": ([{"key": "k", "type": "is", "value": nested(DEEP)}], {"too_deep"}),
}


@pytest.mark.parametrize("path", ["/compute_plan/", "/task/"])
@pytest.mark.parametrize("case", METADATA_FILTERS, ids=METADATA_FILTERS.keys())
def test_a_metadata_filter_with_a_bad_text_or_nested_too_deep_is_refused(api, path, case):
    value, codes = METADATA_FILTERS[case]
    assert_refused(api.get(path, {"metadata": json.dumps(value)}), codes)


@pytest.mark.parametrize("path", ["/compute_plan/", "/task/"])
def test_a_metadata_filter_nested_past_the_decoders_recursion_is_refused(api, path):
    assert_refused(api.get(path, {"metadata": deep_json_text(DEEP_QUERY)}), {"too_deep"})


SEGMENTS = [
    "/compute_plan/{}/",
    "/compute_plan/{}/perf/",
    "/task/{}/",
    "/task/{}/input_assets/",
    "/model/{}/",
    "/data_manager/{}/",
    "/function/{}/",
    "/data_sample/{}/",
    "/users/{}/",
]


@pytest.mark.parametrize("template", SEGMENTS)
def test_a_path_segment_with_a_nul_or_over_long_is_refused(api, template):
    assert_refused(api.get(template.format("k%00")), {"invalid_text"})
    assert_refused(api.get(template.format(new_key() + "%00")), {"invalid_text"})
    assert_refused(api.get(template.format("k" * 3_000)), {"limit_exceeded"})


# Null for optional fields, as the SDK sends them


def test_a_dataset_and_a_function_with_null_metadata_are_registered_with_none(api):
    dataset = api.post("/data_manager/", dataset_form(json.dumps(dataset_spec(metadata=None))))
    function = api.post("/function/", function_form(json.dumps(function_spec(metadata=None))))

    assert (dataset.status_code, function.status_code) == (201, 201), (dataset.json(), function.json())
    assert dataset.json()["metadata"] == function.json()["metadata"] == {}


def test_a_compute_plan_with_null_metadata_and_tag_is_registered_with_none(api):
    response = post_json(api, "/compute_plan/", {"key": new_key(), "name": "plan", "metadata": None, "tag": None})

    assert response.status_code == 201, response.json()
    assert (response.json()["metadata"], response.json()["tag"]) == ({}, "")


def test_a_task_with_null_metadata_tag_and_rank_is_registered_with_none(api, world):
    plan = new_plan(api)

    response = post_json(api, "/task/bulk_create/", {"tasks": [task(world, plan)]})

    assert response.status_code == 200, response.json()
    (created,) = response.json()
    assert (created["metadata"], created["tag"], created["rank"]) == ({}, "", 0)


def test_a_task_with_null_outputs_is_refused_by_the_ledger_for_its_missing_output_not_by_the_parser(api, world):
    plan = new_plan(api)

    response = post_json(api, "/task/bulk_create/", {"tasks": [task(world, plan, outputs=None)]})

    assert_refused(response, {"missing_output"})


# Through the substra SDK


@pytest.fixture
def sdk(live_server, backend, tmp_path):
    make_user("carol")
    client = substra.Client(url=live_server.url, backend_type="remote", username="carol", password=PASSWORD)
    yield client
    client.logout()


def test_the_sdk_gets_a_clear_error_for_a_nul_in_metadata_and_nothing_is_stored(sdk, backend, ledger, tmp_path):
    """(The SDK cannot send an unpaired surrogate: its pydantic specs turn one in a key into U+FFFD
    and fail to serialize one in a value, before sending; raw HTTP tests send them.)"""
    files = write_folder(tmp_path / "files", {"opener.py": b"import substratools\n", "description.md": b"# d\n"})
    ledger.mark()
    with pytest.raises(exceptions.InvalidRequest) as refused:
        sdk.add_compute_plan(schemas.ComputePlanSpec(key=new_key(), name="plan", metadata={NUL: "v"}))
    assert "NUL" in str(refused.value)
    with pytest.raises(exceptions.InvalidRequest):
        sdk.add_dataset(
            schemas.DatasetSpec(
                name="data",
                data_opener=files / "opener.py",
                description=files / "description.md",
                permissions=schemas.Permissions(public=True, authorized_ids=[]),
                logs_permission=schemas.Permissions(public=True, authorized_ids=[]),
                metadata={"k": NUL},
            )
        )
    assert ledger.mark() == []
    assert backend.stored_files() == []


def test_the_sdk_gets_a_clear_error_for_a_nul_in_a_list_filter(sdk):
    for listing in (sdk.list_compute_plan, sdk.list_task, sdk.list_model, sdk.list_dataset, sdk.list_function):
        with pytest.raises(exceptions.InvalidRequest):
            listing(filters={"key": [NUL]})


def test_the_sdk_registers_a_plan_with_metadata_tag_and_tasks_set_to_none(sdk):
    spec = schemas.ComputePlanSpec(key=new_key(), name="plan", metadata=None, tag=None, tasks=None)
    key = sdk.add_compute_plan(spec).key
    plan = sdk.get_compute_plan(key)
    assert (plan.metadata, plan.tag) == ({}, "")


# After all that, the channel still flows


def test_after_every_refusal_the_consumer_applies_every_event_of_the_channel(api, backend, network, ledger):
    for where in ("metadata.key", "metadata.value", "name", "tag"):
        post_json(api, "/compute_plan/", {"key": new_key(), "name": "plan", **with_bad(where, NUL)})
    later = str(uuid.uuid4())
    network(ORG1).register_compute_plan(key=later, name="after the refusals", metadata={"k": "v"})

    consume(CHANNEL, stop_when_idle=True, idle_seconds=1.0)

    assert ComputePlan.objects.get(key=later).metadata == {"k": "v"}
    assert not [plan.key for plan in ComputePlan.objects.all() if "\x00" in plan.name + json.dumps(plan.metadata)]


# The mirror holds whatever the ledger accepts


MIRRORED_TEXT = {
    "ComputePlan": {"name": "NAME_MAX", "owner": "ORGANIZATION_MAX", "tag": "TAG_MAX"},
    "ComputeTask": {"owner": "ORGANIZATION_MAX", "worker": "ORGANIZATION_MAX", "tag": "TAG_MAX"},
    "DataManager": {
        "name": "NAME_MAX", "owner": "ORGANIZATION_MAX", "type": "TYPE_MAX",
        "opener_checksum": "CHECKSUM_MAX", "opener_address": "ADDRESS_MAX",
        "description_checksum": "CHECKSUM_MAX", "description_address": "ADDRESS_MAX",
    },
    "DataSample": {"owner": "ORGANIZATION_MAX", "checksum": "CHECKSUM_MAX"},
    "Function": {
        "name": "NAME_MAX", "owner": "ORGANIZATION_MAX", "image": "IMAGE_MAX",
        "description_checksum": "CHECKSUM_MAX", "description_address": "ADDRESS_MAX",
        "archive_checksum": "CHECKSUM_MAX", "archive_address": "ADDRESS_MAX",
    },
    "Organization": {"org_id": "ORGANIZATION_MAX", "address": "ADDRESS_MAX"},
    "Model": {
        "compute_task_output_identifier": "IDENTIFIER_MAX", "owner": "ORGANIZATION_MAX",
        "checksum": "CHECKSUM_MAX", "address": "ADDRESS_MAX",
    },
    "Performance": {"compute_task_output_identifier": "IDENTIFIER_MAX"},
    "FailureReport": {"owner": "ORGANIZATION_MAX", "logs_checksum": "CHECKSUM_MAX", "logs_address": "ADDRESS_MAX"},
}  # fmt: skip


@pytest.mark.parametrize("model_name", MIRRORED_TEXT)
def test_every_mirror_column_holds_the_longest_text_the_ledger_accepts(model_name):
    from django.apps import apps

    model = apps.get_model("substrapp", model_name)
    too_short = {
        field: (model._meta.get_field(field).max_length, getattr(limits, limit))
        for field, limit in MIRRORED_TEXT[model_name].items()
        if model._meta.get_field(field).max_length < getattr(limits, limit)
    }
    assert too_short == {}, f"{model_name}: column length < the ledger's limit: {too_short}"
