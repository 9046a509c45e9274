"""Data managers (a dataset's opener and description) and the data samples linked to them."""

from orchestrator import snapshots
from orchestrator.errors import OrchestratorError
from orchestrator.events import recording, retry_on_conflict
from orchestrator.ledger.common import (
    Caller,
    canonical,
    check_addressable,
    check_checksum,
    check_key,
    check_metadata,
    check_name,
    check_text,
    check_unique,
    existing_key,
    new_permission,
    now,
)
from orchestrator.ledger.organizations import known_organizations
from orchestrator.models import DataManager, DataSample
from orchestrator_client.limits import TYPE_MAX

DataSampleLink = DataSample.data_managers.through


@retry_on_conflict
def register_data_manager(caller: Caller, new) -> dict:
    key = check_key(new.key)
    opener = check_addressable(new.opener, "opener")
    description = check_addressable(new.description, "description")
    check_text(new.type, "type", TYPE_MAX, required=True)
    known = known_organizations(caller.channel)
    row = DataManager(
        key=key,
        channel=caller.channel,
        owner=caller.org,
        name=check_name(new.name),
        type=new.type,
        opener_checksum=opener[0],
        opener_address=opener[1],
        description_checksum=description[0],
        description_address=description[1],
        permissions=canonical(new_permission(new.new_permissions, caller.org, known)),
        logs_permission=canonical(new_permission(new.logs_permission, caller.org, known)),
        metadata=canonical(check_metadata(new.metadata)),
        creation_date=now(),
    )
    with recording(caller.channel) as events:
        existing = DataManager.objects.filter(key=key).first()
        if existing is not None:
            return _existing_or_conflict(existing, row, snapshots.data_manager)
        row.save(force_insert=True)
        snapshot = snapshots.data_manager(row)
        events.created("ASSET_DATA_MANAGER", key, snapshot)
        return snapshot


def get_data_manager(caller: Caller, key: str) -> dict:
    return snapshots.data_manager(_data_manager(caller, key))


@retry_on_conflict
def rename_data_manager(caller: Caller, key: str, name: str) -> dict:
    with recording(caller.channel) as events:
        row = _data_manager(caller, key, for_update=True)
        _check_owner(row, caller)
        row.name = check_name(name)
        row.save(update_fields=["name"])
        snapshot = snapshots.data_manager(row)
        events.updated("ASSET_DATA_MANAGER", key, snapshot)
        return snapshot


@retry_on_conflict
def register_data_samples(caller: Caller, new_samples) -> list[dict]:
    """Registers data samples atomically; samples already registered identically are returned as
    they are, so that a retried request succeeds."""
    keys = [check_key(sample.key) for sample in new_samples]
    check_unique(keys)
    if not keys:
        raise OrchestratorError("INVALID_FIELD", "no data sample to register")
    with recording(caller.channel) as events:
        existing = {row.key: row for row in DataSample.objects.filter(key__in=keys)}
        links = _links_of(list(existing))
        created = now()
        result, rows, new_links = [], [], []
        for key, sample in zip(keys, new_samples, strict=True):
            check_checksum(sample.checksum, f"checksum of data sample {key}")
            manager_keys = _owned_data_managers(caller, sample.data_manager_keys)
            row = DataSample(key=key, channel=caller.channel, owner=caller.org, checksum=sample.checksum,
                             creation_date=created)  # fmt: skip
            if key in existing:
                result.append(_existing_or_conflict(existing[key], row, _sample_snapshot(links, manager_keys)))
                continue
            rows.append(row)
            new_links += [DataSampleLink(datasample_id=key, datamanager_id=manager) for manager in manager_keys]
            snapshot = snapshots.data_sample(row, manager_keys)
            events.created("ASSET_DATA_SAMPLE", key, snapshot)
            result.append(snapshot)
        DataSample.objects.bulk_create(rows)
        DataSampleLink.objects.bulk_create(new_links)
        return result


def _sample_snapshot(links: dict[str, list[str]], requested_managers: list[str]):
    """Snapshots an existing sample with its links, and a candidate with the links it asks for."""

    def snapshot_of(row):
        if row._state.adding:
            return snapshots.data_sample(row, requested_managers)
        return snapshots.data_sample(row, links.get(row.key, []))

    return snapshot_of


@retry_on_conflict
def link_data_samples(caller: Caller, data_manager_keys, data_sample_keys) -> list[dict]:
    """Links more data samples to more data managers; links that already exist are kept as they are."""
    sample_keys = [check_key(key) for key in data_sample_keys]
    with recording(caller.channel) as events:
        manager_keys = _owned_data_managers(caller, data_manager_keys)
        samples = {row.key: row for row in DataSample.objects.filter(key__in=sample_keys, channel=caller.channel)}
        for key in sample_keys:
            if key not in samples:
                raise OrchestratorError("NOT_FOUND", f"data sample {key} not found")
            if samples[key].owner != caller.org:
                raise OrchestratorError("PERMISSION_DENIED", f"data sample {key} belongs to another organization")
        DataSampleLink.objects.bulk_create(
            [DataSampleLink(datasample_id=s, datamanager_id=m) for s in sample_keys for m in manager_keys],
            ignore_conflicts=True,
        )
        linked = _links_of(sample_keys)
        result = []
        for key in sample_keys:
            snapshot = snapshots.data_sample(samples[key], linked.get(key, []))
            events.updated("ASSET_DATA_SAMPLE", key, snapshot)
            result.append(snapshot)
        return result


def get_data_sample(caller: Caller, key: str) -> dict:
    key = existing_key(key, "data sample")
    row = DataSample.objects.filter(key=key, channel=caller.channel).first()
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"data sample {key} not found")
    return snapshots.data_sample(row, _links_of([key]).get(key, []))


def _links_of(sample_keys) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for sample, manager in DataSampleLink.objects.filter(datasample_id__in=sample_keys).values_list(
        "datasample_id", "datamanager_id"
    ):
        links.setdefault(sample, []).append(manager)
    return links


def _owned_data_managers(caller: Caller, keys) -> list[str]:
    keys = [check_key(key, "data manager key") for key in keys]
    if not keys:
        raise OrchestratorError("INVALID_FIELD", "a data sample needs at least one data manager")
    owners = dict(DataManager.objects.filter(key__in=keys, channel=caller.channel).values_list("key", "owner"))
    for key in keys:
        if key not in owners:
            raise OrchestratorError("NOT_FOUND", f"data manager {key} not found")
        if owners[key] != caller.org:
            raise OrchestratorError("PERMISSION_DENIED", f"data manager {key} belongs to another organization")
    return sorted(set(keys))


def _data_manager(caller: Caller, key: str, for_update: bool = False) -> DataManager:
    key = existing_key(key, "data manager")
    rows = DataManager.objects.filter(key=key, channel=caller.channel)
    row = (rows.select_for_update() if for_update else rows).first()
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"data manager {key} not found")
    return row


def _check_owner(row, caller: Caller) -> None:
    if row.owner != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only its owner {row.owner} may change {row.key}")


def _existing_or_conflict(existing, candidate, spec_of, snapshot_of=None) -> dict:
    """An identical re-registration (a retry) returns the asset; a different one is a conflict.
    `spec_of` gives what the registration request sets, `snapshot_of` the asset as answered."""
    mine, theirs = spec_of(candidate), spec_of(existing)
    mine.pop("creation_date"), theirs.pop("creation_date")
    if existing.channel != candidate.channel or mine != theirs:
        raise OrchestratorError("CONFLICT", f"key {existing.pk} already exists with a different content")
    return (snapshot_of or spec_of)(existing)
