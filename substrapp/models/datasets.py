"""Datasets (the orchestrator's data managers) and data samples, mirrored from the orchestrator's
events. Fields keep the snapshot's names; an addressable (`opener`, `description`) is split in
`<name>_checksum` and `<name>_address`, the owner's address of the file. The `*_file` fields and
`server_path` are local: set only on the organization that holds the bytes."""

from django.db import models

from substrapp.models.fields import KEY, local_file
from substrapp.models.scoping import ChannelScopedQuerySet


class DataManager(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    owner = models.CharField(max_length=100)
    # {"process": {"public": bool, "authorized_ids": [org]}}
    permissions = models.JSONField()
    opener_checksum = models.CharField(max_length=64)
    opener_address = models.CharField(max_length=300)
    description_checksum = models.CharField(max_length=64)
    description_address = models.CharField(max_length=300)
    type = models.CharField(max_length=30)
    metadata = models.JSONField(default=dict)
    # {"public": bool, "authorized_ids": [org]}: who may read the logs of tasks on this dataset.
    logs_permission = models.JSONField()
    creation_date = models.DateTimeField()

    # Local: the files, on their owner only.
    opener_file = local_file("data_managers/")
    description_file = local_file("data_managers/")

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "key"]
        indexes = [models.Index(fields=["channel", "creation_date"], name="datamanager_list")]

    def __str__(self):
        return f"data manager {self.key} ({self.name})"


class DataSample(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    owner = models.CharField(max_length=100)
    checksum = models.CharField(max_length=64)
    creation_date = models.DateTimeField()
    # The snapshot's `data_manager_keys`; the SDK's dataset `data_sample_keys` is the reverse.
    data_managers = models.ManyToManyField(DataManager, related_name="data_samples")

    # Local, on the owner only: the uploaded archive in storage, or the directory registered in
    # place on this server. Never served: data samples do not leave their organization.
    file = local_file("data_samples/")
    server_path = models.CharField(max_length=500, null=True, blank=True)

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "key"]
        indexes = [models.Index(fields=["channel", "creation_date"], name="datasample_list")]

    def __str__(self):
        return f"data sample {self.key}"
