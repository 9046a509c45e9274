"""Helpers for the registration API tests: a backend pointed at an orchestrator of its own, a
storage folder of the test's own, and archives to upload."""

import io
import tarfile
import zipfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from substrapp.mirror import save_snapshots, snapshot_of
from substrapp.orchestration import close_orchestrator_clients
from tests.backend.network import point_backend_at


class Backend:
    """This backend as org 1 of `network`, storing files in `storage`."""

    def __init__(self, network, settings, authority, directory: Path):
        point_backend_at(settings, network.orchestrator, authority, directory)
        self.network = network
        self.storage = directory / "storage"
        self.server_data = directory / "server-data"
        self.server_data.mkdir()
        default = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(self.storage)}}
        settings.STORAGES = {**settings.STORAGES, "default": default}
        settings.SERVER_DATA_ROOTS = [str(self.server_data)]

    def stored_files(self) -> list[str]:
        if not self.storage.exists():
            return []
        return sorted(str(p.relative_to(self.storage)) for p in self.storage.rglob("*") if p.is_file())

    def mirror(self, channel, asset_kind, answer) -> None:
        """Saves in the mirror an asset registered directly with the orchestrator."""
        save_snapshots(channel, asset_kind, [snapshot_of(answer)])

    def close(self):
        close_orchestrator_clients()


def zip_of(files: dict[str, bytes], name="sample.zip") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return SimpleUploadedFile(name, buffer.getvalue())


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def tar_gz_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, content in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
