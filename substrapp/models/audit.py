"""The audit trail: who did what on this organization (substrapp/audit.py writes it).

Records are appended, never changed by the application: the model refuses a save of an existing
row and every delete, and its queryset refuses bulk updates and deletes. The one exception is the
link to the ledger (`ledger_position`, `ledger_hash`), set once: in the inserted row when the event
that the action caused is known already, else later by `link_to_events`."""

import uuid

from django.db import connections, models

from substrapp.models.scoping import ChannelScopedQuerySet


class AuditRecordIsReadOnly(Exception):
    pass


class AuditRecordQuerySet(ChannelScopedQuerySet):
    def update(self, **fields):
        raise AuditRecordIsReadOnly("audit records are never changed")

    def delete(self):
        raise AuditRecordIsReadOnly("audit records are never deleted")

    def link_to_events(self, links: list[tuple[uuid.UUID, int, str]]) -> int:
        """Sets the ledger link (record id, event position, event hash) of each record not linked
        yet, in one statement; the only change ever allowed. The links are a VALUES list joined on
        the record id (PostgreSQL and SQLite name its columns column1..3 alike): a batch of 500
        tasks is 500 links, which the ORM's CASE of 500 WHENs took longer to build than the
        registration they record."""
        if not links:
            return 0
        connection = connections[self.db]
        table, record_id = connection.ops.quote_name(self.model._meta.db_table), self.model._meta.pk
        params = []
        for record, position, event_hash in links:
            params += [record_id.get_db_prep_value(record, connection), position, event_hash]
        values = ", ".join(["(%s, %s, %s)"] * len(links))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET ledger_position = link.column2, ledger_hash = link.column3 "
                f"FROM (VALUES {values}) AS link WHERE {table}.id = link.column1 AND {table}.ledger_position IS NULL",
                params,
            )
            return cursor.rowcount


class Outcome(models.TextChoices):
    DONE = "DONE", "done"
    REFUSED = "REFUSED", "refused"  # a 4xx: the caller's request or rights
    FAILED = "FAILED", "failed"  # a 5xx: this organization or the orchestrator


class ActorKind(models.TextChoices):
    USER = "USER", "user"
    ORGANIZATION = "ORGANIZATION", "peer organization"
    ANONYMOUS = "ANONYMOUS", "anonymous"
    SYSTEM = "SYSTEM", "operator command"


class AuditRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    time = models.DateTimeField(db_index=True)
    # Several records share a request id when one request acts on several assets (a batch).
    request_id = models.CharField(max_length=64, db_index=True)
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    # The username, the peer's organization id, or the username tried on a failed login. Not a
    # foreign key: a deleted user's records stay.
    actor = models.CharField(max_length=150, blank=True, db_index=True)
    channel = models.CharField(max_length=100, blank=True, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    asset_key = models.CharField(max_length=150, blank=True, db_index=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    # The ledger event this action wrote (its asset kind and event kind are expected_*), once known.
    expected_asset_kind = models.CharField(max_length=30, blank=True)
    expected_event_kind = models.CharField(max_length=30, blank=True)
    expected_name = models.CharField(max_length=200, blank=True)  # a rename's new name
    ledger_position = models.BigIntegerField(null=True, blank=True)
    ledger_hash = models.CharField(max_length=64, blank=True, default="")
    # The positions the request's orchestrator calls wrote, when the orchestrator tells them
    # (renames, cancels, links): the event of this record is the one of its asset between them.
    written_from = models.BigIntegerField(null=True, blank=True)
    written_to = models.BigIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField()

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["channel", "asset_key"])]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.actor or self.actor_kind} {self.action} {self.outcome}"

    @property
    def is_ledger_action(self) -> bool:
        return bool(self.expected_event_kind) and self.outcome == Outcome.DONE

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditRecordIsReadOnly("audit records are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditRecordIsReadOnly("audit records are never deleted")


class OwnLedgerEvent(models.Model):
    """An event of the ledger about an asset this organization owns, as the consumer applied it:
    what an audit record written after the consumer passed the event is linked to."""

    channel = models.CharField(max_length=100)
    position = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    asset_kind = models.CharField(max_length=30)
    event_kind = models.CharField(max_length=30)
    asset_key = models.CharField(max_length=150)
    timestamp = models.DateTimeField()
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "position"], name="own_event_once")]
        indexes = [models.Index(fields=["channel", "asset_key"])]

    def __str__(self):
        return f"{self.channel} event {self.position}: {self.event_kind} {self.asset_kind} {self.asset_key}"
