"""On PostgreSQL, task pages keep half their space free, so that an update that changes no indexed
column (a Done parent lowering its children's `pending_parents`: ten children per Done in a
FedAvg round) writes the new row version in the same page, without new index entries (a HOT
update), instead of a copy elsewhere and one entry in each of the table's indexes. The table
takes about twice the space."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE orchestrator_computetask SET (fillfactor = 50)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE orchestrator_computetask RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0005_transition_functions")]
    operations = [migrations.RunPython(create, drop)]
