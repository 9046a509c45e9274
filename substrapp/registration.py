"""Registration of datasets, data samples and functions: the layer under their API views.

Each `register_*` stores the files (checksummed on the way), registers the asset with the
orchestrator under a key made here, and saves the orchestrator's answer in the mirror at once, so
that a read right after works before the event consumer catches up. Until the orchestrator has
accepted, a failure discards every file stored for the request: nothing stays half-registered.
After it has accepted, the files stay whatever happens, since the orchestrator points at them.

`file_url(route, key)` is given by the caller: the absolute address, on this backend, of the
route that serves a file of asset `key` (`"data_manager-opener"`, `"function-file"`, ...).
"""

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable

from django.db import transaction

from substrapp.archives import check_function_archive, inspect_archive
from substrapp.mirror import save_snapshots, snapshot_of
from substrapp.models import DataManager, DataSample, Function
from substrapp.orchestration import orchestrator_for
from substrapp.serverpaths import check_server_directory
from substrapp.storage import StoredFile, discard, store_upload

DEFAULT_DATASET_TYPE = "default"

FileUrl = Callable[[str, str], str]

logger = logging.getLogger(__name__)


def register_dataset(channel: str, spec: dict, opener, description, file_url: FileUrl) -> DataManager:
    """`spec`: name, permissions and logs_permission (flat), metadata, type (optional)."""
    key = new_key()
    with _stored_until_registered() as store:
        stored_opener = store(opener, "data_managers")
        stored_description = store(description, "data_managers")
        answer = orchestrator_for(channel).register_data_manager(
            key=key,
            name=spec["name"],
            new_permissions=spec["permissions"],
            opener=_addressable(stored_opener, file_url("data_manager-opener", key)),
            description=_addressable(stored_description, file_url("data_manager-description", key)),
            type=spec.get("type") or DEFAULT_DATASET_TYPE,
            metadata=spec.get("metadata", {}),
            logs_permission=spec.get("logs_permission", spec["permissions"]),
        )
    return _mirrored_with_files(
        channel, "ASSET_DATA_MANAGER", DataManager, answer,
        opener_file=stored_opener.name, description_file=stored_description.name,
    )  # fmt: skip


def rename_dataset(dataset: DataManager, name: str) -> None:
    answer = orchestrator_for(dataset.channel).rename_data_manager(dataset.key, name)
    save_snapshots(dataset.channel, "ASSET_DATA_MANAGER", [snapshot_of(answer)])


def register_uploaded_samples(channel: str, data_manager_keys: list[str], archives: list) -> list[str]:
    """One data sample per archive (zip or tar of the sample's folder), checked before anything
    is stored. Returns the new keys, in the archives' order."""
    for archive in archives:
        inspect_archive(archive)
    keys = [new_key() for _ in archives]
    with _stored_until_registered() as store:
        stored = [store(archive, "data_samples") for archive in archives]
        answers = orchestrator_for(channel).register_data_samples(
            [
                {"key": key, "checksum": file.checksum, "data_manager_keys": data_manager_keys}
                for key, file in zip(keys, stored, strict=True)
            ]
        )
    _mirror_samples(channel, answers, {key: {"file": file.name} for key, file in zip(keys, stored, strict=True)})
    return [answer.key for answer in answers]


def register_server_samples(
    channel: str, data_manager_keys: list[str], paths: list[str], followlinks: bool = False
) -> list[str]:
    """One data sample per folder already on this server (under BACKEND_SERVER_DATA_ROOTS),
    registered in place: the data are read to checksum them, never copied."""
    directories = [check_server_directory(path, followlinks=followlinks) for path in paths]
    keys = [new_key() for _ in directories]
    answers = orchestrator_for(channel).register_data_samples(
        [
            {"key": key, "checksum": directory.checksum, "data_manager_keys": data_manager_keys}
            for key, directory in zip(keys, directories, strict=True)
        ]
    )
    local = {key: {"server_path": str(directory.path)} for key, directory in zip(keys, directories, strict=True)}
    _mirror_samples(channel, answers, local)
    return [answer.key for answer in answers]


def link_samples(channel: str, data_manager_keys: list[str], data_sample_keys: list[str]) -> None:
    answers = orchestrator_for(channel).link_data_samples(data_manager_keys, data_sample_keys)
    _mirror_samples(channel, answers, {})


def register_function(channel: str, spec: dict, archive, description, file_url: FileUrl) -> Function:
    """`spec`: name, permissions (flat), metadata, inputs and outputs (the SDK's dict forms). The
    archive must be a Docker build context: a safe archive with a Dockerfile at its root."""
    check_function_archive(archive)
    key = new_key()
    with _stored_until_registered() as store:
        stored_archive = store(archive, "functions")
        stored_description = store(description, "functions")
        answer = orchestrator_for(channel).register_function(
            key=key,
            name=spec["name"],
            new_permissions=spec["permissions"],
            archive=_addressable(stored_archive, file_url("function-file", key)),
            description=_addressable(stored_description, file_url("function-description", key)),
            metadata=spec.get("metadata", {}),
            inputs=spec["inputs"],
            outputs=spec["outputs"],
        )
    return _mirrored_with_files(
        channel, "ASSET_FUNCTION", Function, answer,
        archive_file=stored_archive.name, description_file=stored_description.name,
    )  # fmt: skip


def rename_function(function: Function, name: str) -> None:
    answer = orchestrator_for(function.channel).rename_function(function.key, name)
    save_snapshots(function.channel, "ASSET_FUNCTION", [snapshot_of(answer)])


def _mirrored_with_files(channel: str, asset_kind: str, model, answer, **stored_files):
    """Saves the orchestrator's answer to the mirror at once, with where this backend keeps the
    asset's files (the consumer never writes those columns)."""
    with transaction.atomic():
        save_snapshots(channel, asset_kind, [snapshot_of(answer)])
        model.objects.filter(key=answer.key).update(**stored_files)
    return model.objects.get(key=answer.key)


def new_key() -> str:
    return str(uuid.uuid4())


@contextlib.contextmanager
def _stored_until_registered():
    """Yields `store(upload, prefix) -> StoredFile`; on an error in the block, every file stored
    through it is discarded before the error goes on."""
    stored: list[StoredFile] = []

    def store(upload, prefix: str) -> StoredFile:
        stored.append(store_upload(upload, prefix))
        return stored[-1]

    try:
        yield store
    except BaseException:
        for file in stored:
            _discard_quietly(file.name)
        raise


def _discard_quietly(name: str) -> None:
    """The first error is the one to report: a storage that is down fails this too."""
    try:
        discard(name)
    except Exception:
        logger.exception("could not remove %s after a refused registration", name)


def _addressable(stored: StoredFile, address: str) -> dict:
    return {"checksum": stored.checksum, "storage_address": address}


def _mirror_samples(channel: str, answers: Iterable, local: dict[str, dict]) -> None:
    snapshots = [snapshot_of(answer) for answer in answers]
    with transaction.atomic():
        _mirror_missing_datasets(channel, {key for s in snapshots for key in s["data_manager_keys"]})
        save_snapshots(channel, "ASSET_DATA_SAMPLE", snapshots)
        for key, fields in local.items():
            DataSample.objects.filter(key=key).update(**fields)


def _mirror_missing_datasets(channel: str, keys: set[str]) -> None:
    """A sample's datasets must be in the mirror before its links (foreign keys); the consumer
    may not have reached one registered elsewhere than through this API."""
    missing = keys - set(DataManager.objects.filter(key__in=keys).values_list("key", flat=True))
    if missing:
        client = orchestrator_for(channel)
        save_snapshots(channel, "ASSET_DATA_MANAGER", [snapshot_of(client.get_data_manager(k)) for k in missing])
