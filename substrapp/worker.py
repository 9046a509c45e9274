"""The compute path of this organization (design.md, "Compute path"): the work under the Celery
tasks of substrapp/tasks.py, which stay thin. The engine pieces (cache, executors) live in
`compute/` and know nothing of Django; this module feeds them the mirror's assets and reports to
the orchestrator.

- `build_function`: the owner builds a function's image when it is registered and reports READY,
  or a BUILD_ERROR with the build's log.
- `run_task`: takes the task's lease, claims it (To do → Doing; a duplicate message does nothing),
  prepares its inputs in the cache, gets its image, runs it, and registers its outputs with Done
  — or a failure report with the logs. It stops within a second or so of the task's cancel
  reaching the mirror.
- `end_plan` removes the plan's container and folders; `collect_transient_models` deletes
  transient models once their consumers have ended.

Errors are either the function's own (permanent: a failure report) or the infrastructure's
(`TemporaryError`: the Celery task retries with backoff, and reports INTERNAL_ERROR at the end).
"""

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.db.models import Min
from django.utils import timezone

import orchestrator_client
from compute.cache import AssetCache, ChecksumMismatch, link_tree
from compute.executors import (
    BuildFailed,
    DockerExecutor,
    Execution,
    ExecutorUnavailable,
    Limits,
    SubprocessExecutor,
    task_folders,
    write_arguments,
)
from substrapp import metrics
from substrapp.archives import ArchiveError, safe_extract
from substrapp.assetfiles import FileAccessDenied, FileElsewhere, OwnerNotFound, download_from_owner
from substrapp.computation import NotAvailable, task_input_assets
from substrapp.mirror import save_snapshots, snapshot_of
from substrapp.models import (
    ComputeTask,
    DataManager,
    DataSample,
    FailureReport,
    Function,
    Model,
    TaskExecution,
    TaskStatus,
)
from substrapp.orchestration import orchestrator_for
from substrapp.serverpaths import directory_checksum
from substrapp.storage import discard, open_stored, store_upload

logger = logging.getLogger(__name__)

STOP_CHECK_SECONDS = 1.0


class TemporaryError(Exception):
    """An infrastructure error that may pass: the Celery task retries."""


# Infrastructure errors, whatever raised them: retried, then INTERNAL_ERROR.
TEMPORARY = (
    TemporaryError,
    ExecutorUnavailable,
    FileElsewhere,
    ChecksumMismatch,
    orchestrator_client.Unavailable,
    OSError,
    # The database restarting or out of reach: the task is tried again (a Celery retry), not failed.
    OperationalError,
    InterfaceError,
)


@functools.cache
def cache() -> AssetCache:
    return AssetCache(settings.COMPUTE_DIR / "cache", settings.COMPUTE_CACHE_MAX_BYTES)


_executor = None
_executor_lock = threading.Lock()


def executor():
    """Docker when configured, or (auto) when a daemon answers; else the subprocess executor."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = _make_executor(settings.COMPUTE_EXECUTOR)
        return _executor


def _make_executor(kind: str):
    if kind in ("docker", "auto"):
        limits = Limits(
            settings.COMPUTE_MEMORY_BYTES, settings.COMPUTE_CPUS, settings.COMPUTE_PIDS_LIMIT, settings.COMPUTE_GPUS
        )
        try:
            docker_executor = DockerExecutor(
                settings.ORG_ID,
                limits,
                settings.COMPUTE_BUILD_TIMEOUT_SECONDS,
                instance=settings.COMPUTE_INSTANCE,
                build_dir=settings.COMPUTE_DIR,
            )
            docker_executor.client.ping()
            return docker_executor
        except Exception as error:
            if kind == "docker":
                raise ExecutorUnavailable(f"COMPUTE_EXECUTOR is docker but Docker does not answer: {error}") from error
            logger.warning("Docker does not answer (%s): falling back to the subprocess executor", error)
    elif kind != "subprocess":
        raise ValueError(f"COMPUTE_EXECUTOR must be docker, subprocess or auto, not {kind!r}")
    return SubprocessExecutor(settings.COMPUTE_DIR / "images")


# Images


def build_function(channel: str, key: str) -> None:
    """On the function's owner: build its image and report READY, or BUILD_ERROR."""
    function = Function.objects.get(key=key)
    if function.owner != settings.ORG_ID:
        return
    client = orchestrator_for(channel)
    if not _claim_build(client, key):
        return
    try:
        with metrics.image_build():  # counted and timed, built or failed
            image = ensure_image(function)
    except BuildFailed as failure:
        report_failure(channel, key, "ASSET_FUNCTION", "BUILD_ERROR", _build_log(failure))
        return
    with contextlib.suppress(orchestrator_client.InvalidTransition):  # a concurrent build won
        answer = client.apply_function_action(key, "FUNCTION_ACTION_READY", image=image.name)
        save_snapshots(channel, "ASSET_FUNCTION", [snapshot_of(answer)])


def _claim_build(client, key: str) -> bool:
    """WAITING → BUILDING; a function already BUILDING is built again (a retry, or a worker
    that died building it: builds are idempotent and locked)."""
    try:
        client.apply_function_action(key, "FUNCTION_ACTION_BUILDING")
        return True
    except orchestrator_client.InvalidTransition:
        return snapshot_of(client.get_function(key))["status"] == "FUNCTION_STATUS_BUILDING"


def _build_log(failure: BuildFailed) -> str:
    return f"{failure}\n\n{failure.log}"


def ensure_image(function: Function):
    """The function's image on this worker, built from its archive once: the archive is what
    the ledger's checksum vouches for (an image exported by the owner would not be)."""
    checksum = function.archive_checksum
    with cache().use(checksum, functools.partial(_fetch_archive, function)) as archive:

        def unpack(folder: Path) -> None:
            try:
                safe_extract(archive, folder)
            except ArchiveError as error:
                raise BuildFailed(f"The function's archive cannot be unpacked: {error}", "") from None

        # The executor builds once per checksum, whoever asks at the same time.
        return executor().prepare_image(checksum, unpack)


def _fetch_archive(function: Function, path: Path) -> str:
    return _fetch_file(function, "archive_file", function.archive_address, function.archive_checksum, path)


# Tasks


def run_task(channel: str, key: str) -> str:
    """Runs one task to its end on this worker; what happened, for logs and tests: "done",
    "failed", "cancelled", "skipped" (not ours to run, or already run), or "held" (a live
    worker holds it: look again once its lease could have expired)."""
    task = ComputeTask.objects.select_related("function").filter(key=key).first()
    if task is None or task.worker != settings.ORG_ID:
        return "skipped"
    taken = take_lease(task)
    if not taken:
        return "held"
    try:
        with LeaseKeeper(key):
            if not claim(channel, key):
                if adopt_stored_models(channel, task):
                    logger.warning("task %s was Done already: adopted the models its last attempt stored", key)
                return "skipped"
            if taken == TAKEN_OVER:
                # Its earlier run's worker died: that run may still go on in the container.
                executor().stop_stale_run(settings.COMPUTE_DIR / "plans" / task.compute_plan_id, key)
            return _execute(channel, task)
    finally:
        release_lease(key)


def claim(channel: str, key: str) -> bool:
    """To do → Doing. A task already Doing is resumed: we hold its lease, so whoever claimed it
    has died or is this worker's earlier attempt."""
    client = orchestrator_for(channel)
    try:
        answer = client.apply_task_action(key, "TASK_ACTION_EXECUTING")
    except orchestrator_client.InvalidTransition:
        answer = client.get_task(key)
        if snapshot_of(answer)["status"] != TaskStatus.EXECUTING:
            return False
    save_snapshots(channel, "ASSET_COMPUTE_TASK", [snapshot_of(answer)])
    return True


def _execute(channel: str, task: ComputeTask) -> str:
    durations: dict[str, float] = {}
    plan_dir = settings.COMPUTE_DIR / "plans" / task.compute_plan_id
    prestart_plan(task, plan_dir)
    with contextlib.ExitStack() as held:
        with _timed(durations, "prepare_inputs"):
            inputs_dir, outputs_dir = task_folders(plan_dir, task.key)
            arguments = prepare_task(task, inputs_dir, executor().root_of(plan_dir), held)
            write_arguments(inputs_dir, arguments)
        with _timed(durations, "image"):
            try:
                image = ensure_image(task.function)
            except BuildFailed as failure:
                return task_failed(channel, task.key, "BUILD_ERROR", _build_log(failure))
        with _timed(durations, "execution"):
            execution = Execution(
                task.compute_plan_id, plan_dir, image, task.key, settings.COMPUTE_TASK_TIMEOUT_SECONDS
            )
            result = executor().run(execution, StopWatch(task.key))
    _save_durations(task.key, durations)
    if result.stopped == "cancelled":
        logger.info("task %s was cancelled while it ran: stopped", task.key)
        return "cancelled"
    if result.exit_code != 0:
        error_type, reason = _failure_of(result)
        logs = result.logs.decode("utf-8", "replace") + f"\n[substra] {reason}\n"
        return task_failed(channel, task.key, error_type, logs)
    with _timed(durations, "save_outputs"):
        outcome = save_outputs(channel, task, outputs_dir)
    _save_durations(task.key, durations)
    shutil.rmtree(inputs_dir, ignore_errors=True)
    shutil.rmtree(outputs_dir, ignore_errors=True)
    return outcome


# Containers before their first task


PENDING = (
    TaskStatus.WAITING_FOR_BUILDER_SLOT,
    TaskStatus.BUILDING,
    TaskStatus.WAITING_FOR_PARENT_TASKS,
    TaskStatus.WAITING_FOR_EXECUTOR_SLOT,
)
_prestarted: set[tuple[str, str]] = set()  # (plan, image checksum) this process started ahead
_looked_at: set[str] = set()  # plans whose functions this process has looked up for a prestart
_prestarted_lock = threading.Lock()


def prestart_plan(task: ComputeTask, plan_dir: Path) -> None:
    """On this organization's first task of a plan: starts, in the background, the containers
    (and fork servers) of the plan's other functions that this organization runs later, so that
    their first task does not wait for them. Only images already on this worker: a build is the
    task's own business. `end_plan` removes them with the plan's other containers."""
    with _prestarted_lock:
        if task.compute_plan_id in _looked_at:  # every task runs this: one lookup per plan
            return
    _prestart(task.compute_plan_id, plan_dir, exclude=task.function.archive_checksum, build=False)


def prestart_plan_ahead(plan_key: str) -> None:
    """Before this organization's first task of a newly registered plan is To do (the consumer's
    word): builds, or waits for, the images of every function it runs in the plan, in the order
    its tasks need them, and starts their containers, in the background. An aggregator's first
    task then finds its container running instead of starting it on the plan's critical path."""
    _prestart(plan_key, settings.COMPUTE_DIR / "plans" / plan_key, exclude=None, build=True)


def _prestart(plan_key: str, plan_dir: Path, exclude: str | None, build: bool) -> None:
    pending = list(
        ComputeTask.objects.filter(compute_plan=plan_key, worker=settings.ORG_ID, status__in=PENDING)
        .values("function_id", "function__archive_checksum")
        .annotate(first_rank=Min("rank"))
        .order_by("first_rank", "function_id")
    )
    with _prestarted_lock:
        _looked_at.add(plan_key)
        wanted = {}
        for row in pending:
            checksum = row["function__archive_checksum"]
            if checksum != exclude and (plan_key, checksum) not in _prestarted and checksum not in wanted:
                wanted[checksum] = row["function_id"]
        _prestarted.update((plan_key, checksum) for checksum in wanted)
    if wanted:
        functions = list(wanted.items())
        threading.Thread(target=_prestart_images, args=(plan_key, plan_dir, functions, build), daemon=True).start()


class _NotBuilt(Exception):
    pass


def _prestart_images(plan_key: str, plan_dir: Path, functions: list[tuple[str, str]], build: bool) -> None:
    try:
        _start_images(plan_key, plan_dir, functions, build)
    finally:
        connections.close_all()  # this thread's own


def _start_images(plan_key: str, plan_dir: Path, functions: list[tuple[str, str]], build: bool) -> None:
    for checksum, function_key in functions:
        try:
            try:
                image = executor().prepare_image(checksum, _not_built)
            except _NotBuilt:
                if not build:
                    continue
                image = ensure_image(Function.objects.get(key=function_key))
            executor().prestart(plan_key, plan_dir, image)
        except BuildFailed:  # the task that needs it reports it
            continue
        except Exception:  # the task that needs it starts it anyway
            logger.warning(
                "could not start the container of image %s for plan %s ahead", checksum, plan_key, exc_info=True
            )
    with _prestarted_lock:
        ended = not any((plan_key, checksum) in _prestarted for checksum, _ in functions)
    if ended:  # end_plan ran in this process meanwhile: what was started after it goes too
        executor().end_plan(plan_key)


def _not_built(folder: Path) -> None:
    raise _NotBuilt


def _failure_of(result) -> tuple[str, str]:
    """(error type, what happened) of a run that did not exit 0: the function's own error, or,
    when something killed it from outside (its container removed, a signal), the platform's."""
    if result.stopped:
        return "EXECUTION_ERROR", "the function timed out"
    if result.killed is not None:
        return ("INTERNAL_ERROR" if result.killed.infrastructure else "EXECUTION_ERROR"), result.killed.message
    return "EXECUTION_ERROR", f"the function exited with code {result.exit_code}"


@contextlib.contextmanager
def _timed(durations: dict, step: str):
    started = time.monotonic()
    try:
        yield
    finally:
        durations[step] = round(time.monotonic() - started, 4)
        metrics.step_took(step, durations[step])


def _save_durations(key: str, durations: dict) -> None:
    TaskExecution.objects.filter(task_id=key).update(durations=durations)


class StopWatch:
    """Asked by the executor while the function runs: True once the task has been cancelled or
    has failed in the mirror (the consumer applies the orchestrator's events)."""

    def __init__(self, key: str):
        self.key = key
        self.checked = 0.0

    def __call__(self) -> bool:
        if time.monotonic() - self.checked < STOP_CHECK_SECONDS:
            return False
        self.checked = time.monotonic()
        try:
            status = ComputeTask.objects.filter(key=self.key).values_list("status", flat=True).first()
        except DatabaseError as error:
            # The database restarting does not stop a run: ask again at the next check.
            logger.warning("task %s: cannot read its status (%s); the run goes on", self.key, error)
            drop_broken_connection()
            return False
        return status in (TaskStatus.CANCELED, TaskStatus.FAILED)


def drop_broken_connection() -> None:
    """Closes this thread's database connection if it broke, so that its next use opens one."""
    with contextlib.suppress(DatabaseError):
        connections["default"].close_if_unusable_or_obsolete()


# Inputs


def prepare_task(task: ComputeTask, inputs_dir: Path, root: str, held: contextlib.ExitStack) -> list[str]:
    """Links every input from the cache into the task's input folder (cache entries held until
    the task ends) and returns the substratools arguments, paths seen from `root`."""
    specs = task.function.inputs
    seen_from = f"{root}/inputs/{task.key}"
    resources = []
    try:
        inputs = task_input_assets(task, require_all=True)
    except NotAvailable as error:
        raise TemporaryError(str(error)) from error  # the consumer has not mirrored it yet
    for identifier, asset in ((row["identifier"], row["asset"]) for row in inputs):
        name, path = _cached(asset, held)
        if not (inputs_dir / name).exists():
            link_tree(path, inputs_dir / name)
        multiple = specs.get(identifier, {}).get("multiple", False)
        resources.append({"id": identifier, "value": f"{seen_from}/{name}", "multiple": multiple})
    outputs = [
        {"id": identifier, "value": f"{root}/outputs/{task.key}/{identifier}", "multiple": False}
        for identifier in task.outputs
    ]
    return [
        "--task-properties",
        json.dumps({"rank": task.rank}),
        "--inputs",
        json.dumps(resources),
        "--outputs",
        json.dumps(outputs),
        "--log-level",
        "warning",
    ]


def _cached(asset, held: contextlib.ExitStack) -> tuple[str, Path]:
    """(name in the task folder, path in the cache) of an input, fetched if needed."""
    if isinstance(asset, DataManager):
        fill = functools.partial(_fetch_opener, asset)
        return "opener.py", held.enter_context(cache().use(asset.opener_checksum, fill))
    if isinstance(asset, DataSample):
        fill = functools.partial(_fetch_sample, asset)
        return asset.key, held.enter_context(cache().use(asset.checksum, fill, is_file=False))
    fill = functools.partial(_fetch_model, asset)
    return asset.key, held.enter_context(cache().use(asset.checksum, fill))


def _fetch_opener(dataset: DataManager, path: Path) -> str:
    return _fetch_file(dataset, "opener_file", dataset.opener_address, dataset.opener_checksum, path)


def _fetch_model(model: Model, path: Path) -> str:
    return _fetch_file(model, "file", model.address, model.checksum, path)


def _fetch_file(asset, field: str, address: str, checksum: str, path: Path) -> str:
    """Our own stored copy, or the owner's downloaded with our peer credentials, written at
    `path`; the SHA-256 of what was written. The cache checks it: each byte of a model is written
    once and hashed once on its way in."""
    if asset.owner == settings.ORG_ID:
        stored = getattr(asset, field)
        if not stored:
            raise TemporaryError(f"{asset} has no local file yet")
        return _write_stream(open_stored(stored.name), path)
    try:
        with open(path, "wb") as file:
            download_from_owner(asset.owner, asset.channel, address, checksum, file)
    except (FileAccessDenied, OwnerNotFound) as error:
        raise TemporaryError(str(error)) from error
    return checksum  # download_from_owner refused any other


def _fetch_sample(sample: DataSample, folder: Path) -> None:
    """A data sample never leaves its organization: from this organization's storage (the
    archive the SDK uploaded, checked then unpacked) or from its directory on this server."""
    if sample.owner != settings.ORG_ID:
        raise TemporaryError(f"data sample {sample.key} belongs to {sample.owner}: it cannot be used here")
    if sample.server_path:
        shutil.copytree(sample.server_path, folder, symlinks=False)
        if directory_checksum(folder) != sample.checksum:
            raise ChecksumMismatch(f"data sample {sample.key} changed on disk since it was registered")
        return
    if not sample.file:
        raise TemporaryError(f"data sample {sample.key} has no local file")
    with tempfile.NamedTemporaryFile(dir=folder.parent) as archive:
        if _write_stream(open_stored(sample.file.name), Path(archive.name)) != sample.checksum:
            raise ChecksumMismatch(f"the stored archive of data sample {sample.key} does not match its checksum")
        safe_extract(archive.name, folder)


def _write_stream(stream, path: Path) -> str:
    """Copies `stream` to `path`; the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    with stream, open(path, "wb") as file:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


# Outputs


def save_outputs(channel: str, task: ComputeTask, outputs_dir: Path) -> str:
    """Models to storage, then models, performances and Done in one orchestrator call."""
    kinds = {identifier: spec["kind"] for identifier, spec in task.function.outputs.items()}
    models, performances, stored = [], [], {}
    try:
        for identifier in task.outputs:
            path = outputs_dir / identifier
            if kinds.get(identifier) == "ASSET_PERFORMANCE":
                performances.append(
                    {"compute_task_output_identifier": identifier, "performance_value": _performance(path)}
                )
                continue
            if not path.is_file():
                raise _MissingOutput(f"the function wrote no file for its output {identifier!r}")
            key = str(uuid.uuid4())
            with open(path, "rb") as file:
                stored[key] = store_upload(file, "models", max_bytes=2**62)
            address = {"checksum": stored[key].checksum, "storage_address": _url(f"/model/{key}/file/")}
            models.append({"key": key, "compute_task_output_identifier": identifier, "address": address})
    except _MissingOutput as error:
        _discard_all(stored)
        return task_failed(channel, task.key, "EXECUTION_ERROR", f"[substra] {error}\n")
    client = orchestrator_for(channel)
    # Should the Done's answer never come (the orchestrator away past the client's retries), a
    # later attempt finds the task Done and adopts these files (`adopt_stored_models`).
    record = _stored_models_record(task)
    record.write_text(json.dumps({key: file.name for key, file in stored.items()}))
    try:
        answer = client.complete_task(task.key, models=models, performances=performances)
    except (orchestrator_client.InvalidTransition, orchestrator_client.InvalidRequest):
        _discard_unregistered(client, stored)
        record.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        _mirror_models(channel, client, {key: file.name for key, file in stored.items()})
        save_snapshots(channel, "ASSET_COMPUTE_TASK", [snapshot_of(answer)])
    record.unlink(missing_ok=True)
    return "done"


def _stored_models_record(task: ComputeTask) -> Path:
    return settings.COMPUTE_DIR / "plans" / task.compute_plan_id / "outputs" / f"{task.key}.models.json"


def _mirror_models(channel: str, client, files: dict[str, str]) -> None:
    """The models the ledger registered, in the mirror with the files this organization holds."""
    if not files:
        return
    save_snapshots(channel, "ASSET_MODEL", [snapshot_of(client.get_model(key)) for key in files])
    for key, name in files.items():
        Model.objects.filter(key=key).update(file=name)


def adopt_stored_models(channel: str, task: ComputeTask) -> list[str]:
    """A task found Done whose Done's answer was lost: the models it stored are mirrored with
    their files if the ledger has them, discarded if not. The keys adopted."""
    record = _stored_models_record(task)
    try:
        files = json.loads(record.read_text())
    except (OSError, ValueError):
        return []
    client = orchestrator_for(channel)
    registered = {}
    for key, name in files.items():
        try:
            client.get_model(key)
            registered[key] = name
        except orchestrator_client.NotFound:
            with contextlib.suppress(Exception):
                discard(name)
    _mirror_models(channel, client, registered)
    record.unlink(missing_ok=True)
    return sorted(registered)


class _MissingOutput(Exception):
    pass


def _performance(path: Path) -> float:
    """substratools writes a performance as `{"all": value}`."""
    try:
        value = json.loads(path.read_text())["all"]
        return float(value)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise _MissingOutput(f"the performance file is not {{'all': number}}: {error}") from None


def _discard_unregistered(client, stored: dict) -> None:
    """Discards the stored models the ledger does not know: a file it points at stays, whatever
    the answer of the call that registered it said."""
    for key, file in stored.items():
        try:
            client.get_model(key)
            continue
        except orchestrator_client.NotFound:
            pass
        except Exception:
            logger.warning("model %s: cannot tell whether the ledger has it; its file stays", key)
            continue
        with contextlib.suppress(Exception):
            discard(file.name)


def _discard_all(stored: dict) -> None:
    for file in stored.values():
        with contextlib.suppress(Exception):
            discard(file.name)


def _url(path: str) -> str:
    """The address of one of this backend's routes, under BACKEND_URL_PREFIX as the API serves it:
    peers download from it, and the SDK and the web frontend follow it."""
    base = settings.PUBLIC_URL or "http://localhost"
    return base + settings.URL_PREFIX + path


# Failures


def task_failed(channel: str, key: str, error_type: str, logs: str) -> str:
    """The outcome of a run that failed: "failed", or "cancelled" when the task had ended before
    its failure could be recorded (its plan failed meanwhile), as the ledger has it."""
    recorded = report_failure(channel, key, "ASSET_COMPUTE_TASK", error_type, logs)
    return "failed" if recorded else "cancelled"


def report_failure(channel: str, key: str, asset_kind: str, error_type: str, logs: str) -> bool:
    """Keeps the logs here and records the failure with their address; the task (or the
    function's tasks) fail with their plan. Reported once: a second report is the same. False
    when the asset had already ended otherwise (cancelled): nothing is recorded."""
    if FailureReport.objects.filter(asset_key=key, logs_file__gt="").exists():
        return True
    metrics.failure_reported(asset_kind, error_type)
    stored = store_upload(ContentFile(logs.encode(), name="logs.txt"), "logs", max_bytes=2**62)
    route = f"/task/{key}/logs/" if asset_kind == "ASSET_COMPUTE_TASK" else f"/function/{key}/"
    address = {"checksum": stored.checksum, "storage_address": _url(route)}
    client = orchestrator_for(channel)
    try:
        answer = client.register_failure_report(
            asset_key=key, asset_kind=asset_kind, error_type=error_type, logs_address=address
        )
    except (orchestrator_client.InvalidTransition, orchestrator_client.Conflict):
        discard(stored.name)  # already ended (cancelled, or failed elsewhere): nothing to report
        return False
    with transaction.atomic():
        save_snapshots(channel, "ASSET_FAILURE_REPORT", [snapshot_of(answer)])
        FailureReport.objects.filter(asset_key=key).update(logs_file=stored.name)
    return True


# Leases


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


TAKEN, TAKEN_OVER = "taken", "taken over"


def take_lease(task: ComputeTask) -> str:
    """TAKEN if this process may run the task (nobody holds it), TAKEN_OVER if its holder is
    dead (its heartbeat is stale, or it was a process of this host that no longer exists), ""
    if a live worker holds it."""
    now = timezone.now()
    with transaction.atomic():
        row, created = TaskExecution.objects.select_for_update().get_or_create(
            task=task,
            defaults={
                "channel": task.channel,
                "compute_plan_key": task.compute_plan_id,
                "holder": holder_name(),
                "ran_on": holder_name(),
                "heartbeat": now,
                "attempts": 1,
            },
        )
        if created:
            return TAKEN
        # A lease this very process holds is its own earlier attempt's, which ended without
        # releasing it (the database was away): a Celery process runs one task at a time.
        if lease_alive(row) and row.holder != holder_name():
            return ""
        outcome = TAKEN_OVER if row.holder else TAKEN
        row.holder, row.ran_on, row.heartbeat, row.attempts = holder_name(), holder_name(), now, row.attempts + 1
        row.save(update_fields=["holder", "ran_on", "heartbeat", "attempts"])
        return outcome


def lease_alive(lease: TaskExecution) -> bool:
    """Whether a live worker holds this lease."""
    fresh = lease.heartbeat > timezone.now() - timedelta(seconds=settings.COMPUTE_LEASE_SECONDS)
    return bool(lease.holder) and _holder_alive(lease.holder, fresh)


class LeaseKeeper:
    """Renews the lease's heartbeat from a thread while the task is worked on (inputs, a long
    image build, the run), so that only a dead worker's lease goes stale."""

    def __init__(self, key: str):
        self.key = key
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease-{key}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def _renew(self) -> None:
        try:
            while not self.done.wait(settings.COMPUTE_LEASE_SECONDS / 4):
                try:
                    TaskExecution.objects.filter(task_id=self.key, holder=holder_name()).update(
                        heartbeat=timezone.now()
                    )
                except DatabaseError as error:  # the database restarting: renew at the next beat
                    logger.warning("task %s: cannot renew its lease (%s)", self.key, error)
                    drop_broken_connection()
        finally:
            connections.close_all()


def release_lease(key: str) -> None:
    TaskExecution.objects.filter(task_id=key, holder=holder_name()).update(holder="")


def _holder_alive(holder: str, fresh: bool) -> bool:
    """On this host, whether its process lives; on another, whether its heartbeat is fresh."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return fresh
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    # A killed process nobody has reaped yet (a zombie) is dead all the same.
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def still_executing(key: str) -> bool:
    return ComputeTask.objects.filter(key=key, status=TaskStatus.EXECUTING).exists()


# Plans


def end_plan(plan_key: str) -> None:
    """The plan has ended: its container and its folders go."""
    with _prestarted_lock:
        _prestarted.difference_update({started for started in _prestarted if started[0] == plan_key})
        _looked_at.discard(plan_key)
    executor().end_plan(plan_key)
    shutil.rmtree(settings.COMPUTE_DIR / "plans" / plan_key, ignore_errors=True)


def plans_with_containers() -> list[str]:
    return executor().plans_with_containers()


def collect_transient_models(channel: str, plan_key: str) -> list[str]:
    """Deletes this organization's transient models of the plan whose consumers have all ended
    (the orchestrator checks it); the keys deleted."""
    client = orchestrator_for(channel)
    deleted = []
    candidates = Model.objects.filter(
        compute_task__compute_plan=plan_key, owner=settings.ORG_ID, disabled=False
    ).select_related("compute_task")
    for model in candidates:
        output = model.compute_task.outputs.get(model.compute_task_output_identifier, {})
        if not output.get("transient"):
            continue
        try:
            answer = client.disable_model(model.key)
        except orchestrator_client.InvalidTransition:
            continue  # still needed
        save_snapshots(channel, "ASSET_MODEL", [snapshot_of(answer)])
        if model.file:
            discard(model.file.name)
            Model.objects.filter(key=model.key).update(file="")
        deleted.append(model.key)
    return deleted
