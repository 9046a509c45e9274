"""Datasets and data samples through the API (`/data_manager/`, `/data_sample/`), against a real
orchestrator: registered, mirrored at once, read in the SDK's shapes; refusals leave nothing."""

import json

import pytest
import substra
from substra.sdk import models as sdk_models
from substra.sdk import schemas

from substrapp.models import DataManager, DataSample
from substrapp.orchestration import orchestrator_for
from tests.backend.conftest import PASSWORD, client_of, make_user
from tests.backend.network import orchestrator_of_its_own
from tests.backend.registering import Backend, upload, write_folder, zip_of
from tests.conftest import ORG1, ORG2
from tests.orchestrator.conftest import ADDRESS, new_key, permission

OPENER = b"import substratools as tools\n"
DESCRIPTION = "# Hospital data\n\nÉtude multicentrique.\n".encode()


@pytest.fixture(scope="module")
def network(tmp_path_factory, authority):
    with orchestrator_of_its_own(tmp_path_factory.mktemp("datasets"), authority) as (clients, _):
        yield clients


@pytest.fixture
def backend(network, settings, authority, tmp_path):
    made = Backend(network, settings, authority, tmp_path)
    yield made
    made.close()


@pytest.fixture
def api(backend, user):
    return client_of(user)


def dataset_form(name="hospital data", authorized_ids=(ORG2,), **spec):
    spec = {
        "name": name,
        "permissions": {"public": False, "authorized_ids": list(authorized_ids)},
        "logs_permission": {"public": True, "authorized_ids": []},
        **spec,
    }
    return {
        "json": json.dumps(spec),
        "data_opener": upload("opener.py", OPENER),
        "description": upload("description.md", DESCRIPTION),
    }


def add_dataset(api, **spec) -> dict:
    response = api.post("/data_manager/", dataset_form(**spec), format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()


def add_samples(api, dataset_key, count=1) -> list[str]:
    form = {"json": json.dumps({"data_manager_keys": [dataset_key]})}
    for index in range(count):
        form[f"sample{index}"] = zip_of({"x.csv": f"{index}\n".encode()}, name=f"sample{index}")
    response = api.post("/data_sample/", form, format="multipart")
    assert response.status_code == 201, response.json()
    return [item["key"] for item in response.json()]


# Datasets


def test_a_registered_dataset_is_served_at_once_in_the_sdk_shape(api, backend):
    created = add_dataset(api, metadata={"site": "lyon"})
    key = created["key"]

    body = api.get(f"/data_manager/{key}/").json()
    dataset = sdk_models.Dataset(**body)
    registered = orchestrator_for("mychannel").get_data_manager(key)

    assert created == body
    assert (dataset.owner, dataset.name, dataset.metadata) == (ORG1, "hospital data", {"site": "lyon"})
    assert dataset.permissions.process.authorized_ids == [ORG1, ORG2]
    assert body["logs_permission"] == {"public": True, "authorized_ids": [ORG1]}
    assert body["opener"]["storage_address"] == f"http://testserver/data_manager/{key}/opener/"
    assert body["description"]["storage_address"] == f"http://testserver/data_manager/{key}/description/"
    assert registered.opener.storage_address == body["opener"]["storage_address"]
    assert registered.opener.checksum == body["opener"]["checksum"]
    assert (registered.type, body["type"]) == ("default", "default")
    assert dataset.creation_date.tzinfo is not None
    assert len(backend.stored_files()) == 2


def test_the_opener_and_the_description_are_served_from_the_storage(api):
    key = add_dataset(api)["key"]

    opener = api.get(f"/data_manager/{key}/opener/", HTTP_ACCEPT="application/json;version=0.0")
    description = api.get(f"/data_manager/{key}/description/")

    assert (opener.status_code, b"".join(opener.streaming_content)) == (200, OPENER)
    assert description["Content-Type"] == "text/markdown; charset=utf-8"
    assert b"".join(description.streaming_content) == DESCRIPTION


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"json": "{not json"}, None),
        (
            {"json": json.dumps({"name": "ds", "permissions": {"public": True, "authorized_ids": []}, "owner": "x"})},
            "owner",
        ),
        ({"json": json.dumps({"name": "ds"})}, "permissions"),
        (
            {"json": json.dumps({"name": "ds", "permissions": {"public": True, "authorized_ids": [], "x": 1}})},
            "permissions",
        ),
    ],
    ids=["invalid json", "unknown key", "missing permissions", "unknown permission key"],
)
def test_a_bad_spec_is_refused_and_leaves_nothing(api, backend, form, field):
    form = {**dataset_form(), **form}

    response = api.post("/data_manager/", form, format="multipart")

    assert response.status_code == 400
    assert field is None or field in response.json()["errors"]
    assert backend.stored_files() == []
    assert not DataManager.objects.exists()


def test_a_dataset_without_an_opener_is_refused(api, backend):
    form = dataset_form()
    del form["data_opener"]

    response = api.post("/data_manager/", form, format="multipart")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["data_opener"])
    assert backend.stored_files() == []


def test_an_orchestrator_refusal_discards_the_stored_files(api, backend):
    response = api.post("/data_manager/", dataset_form(authorized_ids=["NoSuchOrgMSP"]), format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_organization"
    assert "NoSuchOrgMSP" in response.json()["detail"]
    assert backend.stored_files() == []
    assert not DataManager.objects.exists()


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(api, backend, settings):
    settings.UPLOAD_MAX_BYTES = 10

    response = api.post("/data_manager/", dataset_form(), format="multipart")

    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert backend.stored_files() == []


def test_renaming_a_dataset_goes_through_the_orchestrator(api):
    key = add_dataset(api)["key"]

    response = api.put(f"/data_manager/{key}/", {"name": "renamed"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "renamed"
    assert orchestrator_for("mychannel").get_data_manager(key).name == "renamed"
    assert api.put(f"/data_manager/{key}/", {"name": "x", "owner": "y"}, format="json").status_code == 400


def test_lists_are_filtered_and_ordered_as_the_sdk_asks(api):
    first = add_dataset(api, name="first lyon", authorized_ids=())["key"]
    second = add_dataset(api, name="second paris", authorized_ids=(ORG2,))["key"]

    def keys(query):
        response = api.get(f"/data_manager/?{query}")
        assert response.status_code == 200, response.json()
        return [item["key"] for item in response.json()["results"]]

    assert keys("ordering=creation_date") == [first, second]
    assert keys("ordering=-creation_date") == [second, first]
    assert keys(f"key={first},{second}&ordering=creation_date") == [first, second]
    assert keys("match=PARIS") == [second]
    assert keys(f"permissions={ORG2}") == [second]
    assert keys(f"owner={ORG2}") == []
    assert api.get("/data_manager/?ordering=opener_checksum").status_code == 400


def test_another_channel_does_not_see_the_dataset(api, backend):
    key = add_dataset(api)["key"]
    other = client_of(make_user("dave", channel="otherchannel"))

    assert other.get(f"/data_manager/{key}/").status_code == 404
    assert other.get(f"/data_manager/{key}/opener/").status_code == 404
    assert other.put(f"/data_manager/{key}/", {"name": "x"}, format="json").status_code == 404
    assert other.get("/data_manager/").json()["results"] == []


def test_files_of_another_organization_need_process_permission_and_peer_credentials(api, backend):
    def registered_by_org2(*authorized):
        answer = backend.network(ORG2).register_data_manager(
            key=new_key(), name="theirs", new_permissions=permission(*authorized), opener=ADDRESS,
            description=ADDRESS, type="csv", logs_permission=permission(),
        )  # fmt: skip
        backend.mirror("mychannel", "ASSET_DATA_MANAGER", answer)
        return answer.key

    private, shared = registered_by_org2(), registered_by_org2(ORG1)

    assert api.get(f"/data_manager/{private}/opener/").status_code == 403
    assert api.get(f"/data_manager/{shared}/opener/").status_code == 502  # no credentials for the owner
    assert api.get(f"/data_manager/{private}/description/").json()["code"] == "file_elsewhere"
    assert api.get(f"/data_manager/{private}/").json()["opener"]["storage_address"].startswith("http://testserver/")


# Data samples


def test_uploaded_samples_are_registered_mirrored_and_linked_to_their_dataset(api, backend):
    dataset = add_dataset(api)["key"]

    keys = add_samples(api, dataset, count=2)

    samples = [sdk_models.DataSample(**api.get(f"/data_sample/{key}/").json()) for key in keys]
    assert [s.data_manager_keys for s in samples] == [[dataset], [dataset]]
    assert all(s.path is None for s in samples)
    assert "path" not in api.get(f"/data_sample/{keys[0]}/").json()
    assert sorted(api.get(f"/data_manager/{dataset}/").json()["data_sample_keys"]) == sorted(keys)
    assert all(DataSample.objects.get(key=key).file.name.startswith("data_samples/") for key in keys)
    assert len(backend.stored_files()) == 4


@pytest.mark.parametrize(
    "archive",
    [zip_of({"../escape.csv": b"x"}), upload("sample", b"not an archive")],
    ids=["path traversal", "not an archive"],
)
def test_a_bad_archive_is_refused_and_leaves_nothing(api, backend, archive):
    dataset = add_dataset(api)["key"]
    stored = backend.stored_files()
    form = {"json": json.dumps({"data_manager_keys": [dataset]}), "good": zip_of({"x": b"1"}), "bad": archive}

    response = api.post("/data_sample/", form, format="multipart")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_archive")
    assert backend.stored_files() == stored
    assert not DataSample.objects.exists()


def test_samples_for_an_unknown_dataset_are_refused_and_their_archives_discarded(api, backend):
    form = {"json": json.dumps({"data_manager_keys": [new_key()]}), "path": zip_of({"x": b"1"})}

    response = api.post("/data_sample/", form, format="multipart")

    assert response.status_code == 404
    assert backend.stored_files() == []
    assert not DataSample.objects.exists()


def test_folders_on_the_server_are_registered_in_place_and_their_path_never_served(api, backend):
    dataset = add_dataset(api)["key"]
    folders = [write_folder(backend.server_data / name, {"x.csv": name.encode()}) for name in ("a", "b")]

    response = api.post(
        "/data_sample/", {"paths": [str(f) for f in folders], "data_manager_keys": [dataset]}, format="json"
    )

    assert response.status_code == 201, response.json()
    keys = [item["key"] for item in response.json()]
    assert [DataSample.objects.get(key=key).server_path for key in keys] == [str(f) for f in folders]
    assert all("path" not in api.get(f"/data_sample/{key}/").json() for key in keys)
    outside = api.post("/data_sample/", {"path": "/etc", "data_manager_keys": [dataset]}, format="json")
    assert (outside.status_code, outside.json()["code"]) == (400, "invalid_path")


def test_a_sample_registration_without_samples_is_refused(api, backend):
    dataset = add_dataset(api)["key"]
    spec = {"data_manager_keys": [dataset]}

    no_archive = api.post("/data_sample/", {"json": json.dumps(spec)}, format="multipart")
    no_path = api.post("/data_sample/", spec, format="json")
    both = api.post("/data_sample/", {**spec, "path": "/a", "paths": ["/b"]}, format="json")

    assert [r.status_code for r in (no_archive, no_path, both)] == [400, 400, 400]
    assert not DataSample.objects.exists()


def test_linking_samples_adds_datasets_to_them(api):
    first, second = add_dataset(api)["key"], add_dataset(api)["key"]
    keys = add_samples(api, first, count=2)

    response = api.post(
        "/data_sample/bulk_update/",
        {"data_manager_keys": [second], "data_sample_keys": keys},
        format="multipart",
    )

    assert response.status_code == 200
    assert "detail" in response.json()
    for key in keys:
        assert sorted(api.get(f"/data_sample/{key}/").json()["data_manager_keys"]) == sorted([first, second])
    listed = api.get(f"/data_sample/?dataset_key={second}&ordering=creation_date").json()["results"]
    assert sorted(item["key"] for item in listed) == sorted(keys)


# The SDK


@pytest.mark.django_db(transaction=True)
def test_the_sdk_registers_reads_and_downloads_datasets_and_samples(
    live_server, network, settings, authority, tmp_path
):
    backend = Backend(network, settings, authority, tmp_path)
    make_user("bob")
    client = substra.Client(url=live_server.url, backend_type="remote", username="bob", password=PASSWORD)
    opener = write_folder(tmp_path / "files", {"opener.py": OPENER, "description.md": DESCRIPTION})
    samples = [write_folder(tmp_path / "samples" / name, {"x.csv": name.encode()}) for name in ("s1", "s2", "s3")]
    try:
        key = client.add_dataset(
            schemas.DatasetSpec(
                name="sdk data",
                data_opener=opener / "opener.py",
                description=opener / "description.md",
                permissions=schemas.Permissions(public=False, authorized_ids=[ORG2]),
                logs_permission=schemas.Permissions(public=False, authorized_ids=[]),
                metadata={"k": "v"},
            )
        )
        single = client.add_data_sample(schemas.DataSampleSpec(path=samples[0], data_manager_keys=[key]), local=True)
        several = client.add_data_samples(
            schemas.DataSampleSpec(paths=samples[1:], data_manager_keys=[key]), local=True
        )
        other = client.add_dataset(
            schemas.DatasetSpec(
                name="other",
                data_opener=opener / "opener.py",
                description=opener / "description.md",
                permissions=schemas.Permissions(public=True, authorized_ids=[]),
                logs_permission=schemas.Permissions(public=True, authorized_ids=[]),
            )
        )
        client.link_dataset_with_data_samples(other, [single])
        client.update_dataset(key, "renamed")

        dataset = client.get_dataset(key)
        listed = client.list_dataset(filters={"key": [key, other]}, ascending=True)
        (tmp_path / "download").mkdir()
        client.download_dataset(key, tmp_path / "download")
        description = client.describe_dataset(key)
        sample = client.get_data_sample(single)
        samples_listed = client.list_data_sample(filters={"dataset_key": [key]})
    finally:
        client.logout()
        backend.close()

    assert (dataset.name, dataset.metadata, sorted(dataset.data_sample_keys)) == (
        "renamed",
        {"k": "v"},
        sorted([single, *several]),
    )
    assert [d.key for d in listed] == [key, other]
    assert (tmp_path / "download" / "opener.py").read_bytes() == OPENER
    assert description == DESCRIPTION.decode()
    assert sorted(sample.data_manager_keys) == sorted([key, other])
    assert sorted(s.key for s in samples_listed) == sorted([single, *several])
    assert len(backend.stored_files()) == 2 * 2 + 3
