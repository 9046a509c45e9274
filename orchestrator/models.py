"""The ledger's tables. Keys are lowercase UUID strings; JSON documents are stored as canonical text
so that snapshots read back byte for byte the same on PostgreSQL and SQLite."""

from django.db import models

KEY = {"max_length": 36}


class Organization(models.Model):
    org_id = models.CharField(max_length=100)
    channel = models.CharField(max_length=100)
    address = models.CharField(max_length=300, blank=True)
    creation_date = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "org_id"], name="org_per_channel")]


class DataManager(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100, db_index=True)
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=30)
    opener_checksum = models.CharField(max_length=64)
    opener_address = models.CharField(max_length=300)
    description_checksum = models.CharField(max_length=64)
    description_address = models.CharField(max_length=300)
    permissions = models.TextField()
    logs_permission = models.TextField()
    metadata = models.TextField()
    creation_date = models.DateTimeField()


class DataSample(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100, db_index=True)
    owner = models.CharField(max_length=100)
    checksum = models.CharField(max_length=64)
    creation_date = models.DateTimeField()
    data_managers = models.ManyToManyField(DataManager, related_name="data_samples")


class Function(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100, db_index=True)
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    description_checksum = models.CharField(max_length=64)
    description_address = models.CharField(max_length=300)
    archive_checksum = models.CharField(max_length=64)
    archive_address = models.CharField(max_length=300)
    permissions = models.TextField()
    metadata = models.TextField()
    inputs = models.TextField()
    outputs = models.TextField()
    status = models.CharField(max_length=30)
    image = models.CharField(max_length=300, blank=True)
    creation_date = models.DateTimeField()


class ComputePlan(models.Model):
    """A plan's status is derived from these columns (counters kept by each transition), so that
    reading it never scans the plan's tasks."""

    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100, db_index=True)
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    tag = models.CharField(max_length=100, blank=True)
    metadata = models.TextField()
    task_count = models.BigIntegerField(default=0)
    done_count = models.BigIntegerField(default=0)
    failed_task_key = models.CharField(max_length=36, blank=True)
    creation_date = models.DateTimeField()
    start_date = models.DateTimeField(null=True)
    end_date = models.DateTimeField(null=True)
    cancelation_date = models.DateTimeField(null=True)
    failure_date = models.DateTimeField(null=True)


class ComputeTask(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    # No index of their own: the (plan, status) and (function, status) indexes below start with
    # them and serve every lookup by plan or function, and each index costs every task insert and
    # every status change an entry.
    compute_plan = models.ForeignKey(ComputePlan, on_delete=models.PROTECT, related_name="tasks", db_index=False)
    function = models.ForeignKey(Function, on_delete=models.PROTECT, related_name="tasks", db_index=False)
    owner = models.CharField(max_length=100)
    worker = models.CharField(max_length=100)
    rank = models.IntegerField()
    status = models.CharField(max_length=40)
    tag = models.CharField(max_length=100, blank=True)
    metadata = models.TextField()
    inputs = models.TextField()
    outputs = models.TextField()
    logs_permission = models.TextField()
    parent_task_keys = models.TextField()
    # Parents not yet Done: the last parent to finish brings it to 0 under the row's lock.
    pending_parents = models.IntegerField()
    error_type = models.CharField(max_length=30, blank=True)
    # Hash of the registration request, to tell an identical retry from a conflicting one.
    spec_hash = models.CharField(max_length=64)
    creation_date = models.DateTimeField()
    start_date = models.DateTimeField(null=True)
    end_date = models.DateTimeField(null=True)

    class Meta:
        # The cascades select a plan's or a function's tasks by status.
        indexes = [
            models.Index(fields=["compute_plan", "status"], name="task_plan_status"),
            models.Index(fields=["function", "status"], name="task_function_status"),
        ]


class TaskParent(models.Model):
    """A task's parent. The ledger checks both ends before it inserts an edge and never deletes a
    task, so the database does not check them again: a 10,000-task plan has 100,000 edges, and
    their foreign-key checks cost more than the rest of its registration. The unique constraint
    (parent first) is the index the unblocking cascade reads."""

    child = models.ForeignKey(
        ComputeTask, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    parent = models.ForeignKey(
        ComputeTask, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["parent", "child"], name="task_edge")]


class Model(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    compute_task = models.ForeignKey(ComputeTask, on_delete=models.PROTECT, related_name="models")
    identifier = models.CharField(max_length=100)
    owner = models.CharField(max_length=100)
    checksum = models.CharField(max_length=64)
    address = models.CharField(max_length=300)
    permissions = models.TextField()
    disabled = models.BooleanField(default=False)
    creation_date = models.DateTimeField()


class Performance(models.Model):
    channel = models.CharField(max_length=100)
    compute_task = models.ForeignKey(ComputeTask, on_delete=models.PROTECT, related_name="performances")
    identifier = models.CharField(max_length=100)
    value = models.FloatField()
    creation_date = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["compute_task", "identifier"], name="one_performance_per_output")
        ]


class FailureReport(models.Model):
    asset_key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    asset_kind = models.CharField(max_length=30)
    error_type = models.CharField(max_length=30)
    logs_checksum = models.CharField(max_length=64, blank=True)
    logs_address = models.CharField(max_length=300, blank=True)
    owner = models.CharField(max_length=100)
    creation_date = models.DateTimeField()


class Event(models.Model):
    channel = models.CharField(max_length=100)
    position = models.BigIntegerField()
    asset_kind = models.CharField(max_length=30)
    event_kind = models.CharField(max_length=30)
    asset_key = models.CharField(max_length=36)
    timestamp = models.CharField(max_length=32)
    asset_json = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "position"], name="event_position")]


class ChannelHead(models.Model):
    """The last event of a channel. Its row lock, held from position allocation to commit, makes
    positions gap-free and in commit order."""

    channel = models.CharField(primary_key=True, max_length=100)
    position = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
