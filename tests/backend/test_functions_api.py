"""Functions through the API (`/function/`), against a real orchestrator: the archive is checked
(a safe Docker build context) before anything is registered; the answers are the SDK's shapes."""

import json

import pytest
import substra
from substra.sdk import models as sdk_models
from substra.sdk import schemas

from substrapp.models import Function
from substrapp.orchestration import orchestrator_for
from tests.backend.conftest import PASSWORD, client_of, make_user
from tests.backend.network import orchestrator_of_its_own
from tests.backend.registering import Backend, tar_gz_of, upload, write_folder, zip_of
from tests.conftest import ORG1, ORG2
from tests.orchestrator.conftest import ADDRESS, new_key, permission

ARCHIVE = tar_gz_of({"Dockerfile": b"FROM python:3.11\n", "train.py": b"print('hi')\n"})
DESCRIPTION = "# Entraînement\n".encode()
INPUTS = {
    "opener": {"kind": "ASSET_DATA_MANAGER", "multiple": False, "optional": False},
    "datasamples": {"kind": "ASSET_DATA_SAMPLE", "multiple": True, "optional": False},
    "models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True},
}
OUTPUTS = {"model": {"kind": "ASSET_MODEL", "multiple": False}}


@pytest.fixture(scope="module")
def network(tmp_path_factory, authority):
    with orchestrator_of_its_own(tmp_path_factory.mktemp("functions"), authority) as (clients, _):
        yield clients


@pytest.fixture
def backend(network, settings, authority, tmp_path):
    made = Backend(network, settings, authority, tmp_path)
    yield made
    made.close()


@pytest.fixture
def api(backend, user):
    return client_of(user)


def function_form(archive=ARCHIVE, **spec):
    spec = {
        "name": "train",
        "permissions": {"public": False, "authorized_ids": [ORG2]},
        "inputs": INPUTS,
        "outputs": OUTPUTS,
        **spec,
    }
    return {
        "json": json.dumps(spec),
        "file": upload("function.tar.gz", archive),
        "description": upload("description.md", DESCRIPTION),
    }


def add_function(api, **spec) -> dict:
    response = api.post("/function/", function_form(**spec), format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_registered_function_is_served_at_once_in_the_sdk_shape(api, backend):
    created = add_function(api, metadata={"framework": "torch"})
    key = created["key"]

    body = api.get(f"/function/{key}/").json()
    function = sdk_models.Function(**body)
    registered = orchestrator_for("mychannel").get_function(key)

    assert created == body
    assert (function.owner, function.metadata, function.status) == (
        ORG1,
        {"framework": "torch"},
        "FUNCTION_STATUS_WAITING",
    )
    assert body["inputs"] == INPUTS
    assert body["outputs"] == OUTPUTS
    process = {"public": False, "authorized_ids": [ORG1, ORG2]}
    # `download` for the web frontend: whoever may process it may download it (the SDK ignores it).
    assert body["permissions"] == {"process": process, "download": process}
    assert body["archive"]["storage_address"] == f"http://testserver/function/{key}/file/"
    assert registered.archive.storage_address == body["archive"]["storage_address"]
    assert registered.archive.checksum == body["archive"]["checksum"]
    assert len(backend.stored_files()) == 2


def test_the_archive_and_the_description_are_served_from_the_storage(api):
    key = add_function(api)["key"]

    archive = api.get(f"/function/{key}/file/", HTTP_ACCEPT="application/json;version=0.0")
    description = api.get(f"/function/{key}/description/")

    assert (archive.status_code, b"".join(archive.streaming_content)) == (200, ARCHIVE)
    assert description["Content-Type"] == "text/markdown; charset=utf-8"
    assert b"".join(description.streaming_content) == DESCRIPTION


@pytest.mark.parametrize(
    ("archive", "reason"),
    [
        (tar_gz_of({"train.py": b"x"}), "Dockerfile"),
        (tar_gz_of({"sub/Dockerfile": b"x"}), "sub/Dockerfile"),
        (zip_of({"Dockerfile": b"x", "../up": b"x"}).read(), "up"),
        (b"plain bytes", "neither a tar nor a zip"),
    ],
    ids=["no Dockerfile", "nested Dockerfile", "path traversal", "not an archive"],
)
def test_a_bad_archive_is_refused_before_anything_is_stored(api, backend, archive, reason):
    response = api.post("/function/", function_form(archive=archive), format="multipart")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_archive")
    assert reason in response.json()["detail"]
    assert backend.stored_files() == []
    assert not Function.objects.exists()


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"inputs": {"data": {"kind": "ASSET_DATA_MANAGER"}}}, "inputs"),
        ({"inputs": {"opener": {"kind": "ASSET_DATA_MANAGER", "multiple": True}}}, "inputs"),
        ({"inputs": {"opener": {"kind": "ASSET_MODEL"}}}, "inputs"),
        ({"outputs": {"perf": {"kind": "ASSET_PERFORMANCE", "multiple": True}}}, "outputs"),
        ({"outputs": {"model": {"kind": "ASSET_DATA_SAMPLE"}}}, "outputs"),
        ({"image": "x"}, "image"),
    ],
    ids=["renamed opener", "multiple opener", "reserved identifier", "multiple performance", "bad kind", "unknown"],
)
def test_a_bad_spec_is_refused_and_leaves_nothing(api, backend, spec, field):
    response = api.post("/function/", function_form(**spec), format="multipart")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert backend.stored_files() == []


def test_an_orchestrator_refusal_discards_the_stored_files(api, backend):
    form = function_form(permissions={"public": False, "authorized_ids": ["NoSuchOrgMSP"]})

    response = api.post("/function/", form, format="multipart")

    assert (response.status_code, response.json()["code"]) == (400, "unknown_organization")
    assert backend.stored_files() == []
    assert not Function.objects.exists()


def test_renaming_a_function_goes_through_the_orchestrator(api):
    key = add_function(api)["key"]

    response = api.put(f"/function/{key}/", {"name": "renamed"}, format="json")

    assert (response.status_code, response.json()["name"]) == (200, "renamed")
    assert orchestrator_for("mychannel").get_function(key).name == "renamed"


def test_lists_are_filtered_and_ordered_as_the_sdk_asks(api):
    first = add_function(api, name="train lyon")["key"]
    second = add_function(api, name="evaluate", permissions={"public": True, "authorized_ids": []})["key"]

    def keys(query):
        response = api.get(f"/function/?{query}")
        assert response.status_code == 200, response.json()
        return [item["key"] for item in response.json()["results"]]

    assert keys("ordering=creation_date") == [first, second]
    assert keys("ordering=-creation_date") == [second, first]
    assert keys(f"key={second}") == [second]
    assert keys("match=LYON") == [first]
    assert keys("permissions=MyOrg3MSP") == [second]
    assert keys(f"compute_plan_key={new_key()}") == []


def test_another_channel_and_other_organizations(api, backend):
    key = add_function(api)["key"]
    other = client_of(make_user("dave", channel="otherchannel"))
    theirs = backend.network(ORG2).register_function(
        key=new_key(), name="theirs", new_permissions=permission(), description=ADDRESS, archive=ADDRESS,
        inputs={}, outputs={},
    )  # fmt: skip
    backend.mirror("mychannel", "ASSET_FUNCTION", theirs)

    assert other.get(f"/function/{key}/").status_code == 404
    assert other.get(f"/function/{key}/file/").status_code == 404
    assert api.get(f"/function/{theirs.key}/file/").status_code == 403
    assert api.get(f"/function/{theirs.key}/description/").status_code == 502  # no credentials for the owner


@pytest.mark.django_db(transaction=True)
def test_the_sdk_registers_reads_and_downloads_functions(live_server, network, settings, authority, tmp_path):
    backend = Backend(network, settings, authority, tmp_path)
    make_user("bob")
    client = substra.Client(url=live_server.url, backend_type="remote", username="bob", password=PASSWORD)
    files = write_folder(tmp_path / "files", {"function.tar.gz": ARCHIVE, "description.md": DESCRIPTION})
    (tmp_path / "download").mkdir()
    try:
        key = client.add_function(
            schemas.FunctionSpec(
                name="sdk function",
                file=files / "function.tar.gz",
                description=files / "description.md",
                permissions=schemas.Permissions(public=False, authorized_ids=[ORG2]),
                inputs=[
                    schemas.FunctionInputSpec(
                        identifier="opener", kind="ASSET_DATA_MANAGER", optional=False, multiple=False
                    ),
                    schemas.FunctionInputSpec(
                        identifier="datasamples", kind="ASSET_DATA_SAMPLE", optional=False, multiple=True
                    ),
                ],
                outputs=[schemas.FunctionOutputSpec(identifier="model", kind="ASSET_MODEL", multiple=False)],
                metadata={"k": "v"},
            )
        )
        client.update_function(key, "renamed")
        function = client.get_function(key)
        listed = client.list_function(filters={"key": [key]})
        client.download_function(key, tmp_path / "download")
        description = client.describe_function(key)
    finally:
        client.logout()
        backend.close()

    assert (function.name, function.metadata, function.owner) == ("renamed", {"k": "v"}, ORG1)
    assert sorted(item.identifier for item in function.inputs) == ["datasamples", "opener"]
    assert [f.key for f in listed] == [key]
    assert (tmp_path / "download" / "function.tar.gz").read_bytes() == ARCHIVE
    assert description == DESCRIPTION.decode()
