"""Field shapes shared by the mirror's asset families."""

from django.db import models

# The orchestrator's keys: canonical lowercase UUID strings, kept as it writes them.
KEY = {"max_length": 36}


def local_file(folder: str) -> models.FileField:
    """A file this organization holds in its storage (Django's storage API: filesystem or S3).
    Null on the organizations that only mirror the asset, and until registration stores it."""
    return models.FileField(upload_to=folder, null=True, blank=True, max_length=500)
