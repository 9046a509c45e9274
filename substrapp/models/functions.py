"""Functions, mirrored from the orchestrator's events. `archive_file` and `description_file` are
local: set only on the function's owner."""

from django.db import models

from substrapp.models.fields import KEY, local_file
from substrapp.models.scoping import ChannelScopedQuerySet


class Function(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    owner = models.CharField(max_length=100)
    permissions = models.JSONField()  # {"process": {"public": bool, "authorized_ids": [org]}}
    description_checksum = models.CharField(max_length=64)
    description_address = models.CharField(max_length=300)
    archive_checksum = models.CharField(max_length=64)
    archive_address = models.CharField(max_length=300)
    metadata = models.JSONField(default=dict)
    # {identifier: {"kind": "ASSET_…", "multiple": bool, "optional": bool}}, the SDK's dict form.
    inputs = models.JSONField(default=dict)
    # {identifier: {"kind": "ASSET_…", "multiple": bool}}
    outputs = models.JSONField(default=dict)
    status = models.CharField(max_length=30)  # FUNCTION_STATUS_…
    image = models.CharField(max_length=300, blank=True)
    creation_date = models.DateTimeField()

    # Local: the files, on the owner only.
    archive_file = local_file("functions/")
    description_file = local_file("functions/")

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "key"]
        indexes = [models.Index(fields=["channel", "creation_date"], name="function_list")]

    def __str__(self):
        return f"function {self.key} ({self.name})"
