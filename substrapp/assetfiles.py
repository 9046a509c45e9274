"""The files of datasets and functions (openers, archives, descriptions), as the API serves them.

    with open_asset_file(dataset, "opener_file", needs_process=True) as stream: ...

Only the owner holds an asset's files. Fetching them from the owner's backend for our users is
not done yet (it needs the peers' file routes): a file of another organization raises
FileElsewhere, which the API answers with 501.
"""

from typing import BinaryIO

from django.conf import settings

from substrapp.storage import open_stored


class FileAccessDenied(Exception):
    """This organization may not process the asset (the API answers 403)."""

    code = "permission_denied"


class FileElsewhere(Exception):
    """The file is held by another organization (the API answers 501)."""

    code = "file_elsewhere"


def can_process(asset, org: str | None = None) -> bool:
    """Whether organization `org` (this one by default) may use the asset in its tasks."""
    org = org or settings.ORG_ID
    process = asset.permissions["process"]
    return asset.owner == org or process["public"] or org in process["authorized_ids"]


def open_asset_file(asset, field: str, needs_process: bool) -> BinaryIO:
    """A stream of the file in `asset.<field>`; FileNotFoundError if this owner lost it."""
    if needs_process and not can_process(asset):
        raise FileAccessDenied(f"{settings.ORG_ID} has no process permission on {asset.key}.")
    stored = getattr(asset, field)
    if asset.owner != settings.ORG_ID or not stored:
        raise FileElsewhere(
            f"The file is held by {asset.owner}; downloading files of other organizations through "
            "this backend is not implemented yet."
        )
    return open_stored(stored.name)
