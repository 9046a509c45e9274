"""Fewer indexes on the task table, whose rows are inserted by the ten thousand and updated at
every transition: each index costs every insert, and every update that changes the status, one
entry. The plan and function foreign keys lose their own indexes (and, on PostgreSQL, their LIKE
indexes): the (plan, status) and (function, status) indexes start with them and serve every
lookup by plan or function. On PostgreSQL, the primary key's LIKE index goes too: task keys are
only ever looked up whole."""

import django.db.models.deletion
from django.db import migrations, models

KEY_LIKE_INDEX = "orchestrator_computetask_key_a64961b7_like"


def drop_key_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {KEY_LIKE_INDEX}")


def create_key_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {KEY_LIKE_INDEX} ON orchestrator_computetask (key varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0006_task_fillfactor")]

    operations = [
        migrations.AlterField(
            model_name="computetask",
            name="compute_plan",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tasks",
                to="orchestrator.computeplan",
            ),
        ),
        migrations.AlterField(
            model_name="computetask",
            name="function",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tasks",
                to="orchestrator.function",
            ),
        ),
        migrations.RunPython(drop_key_like_index, create_key_like_index),
    ]
