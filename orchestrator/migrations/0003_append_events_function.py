"""On PostgreSQL, events are appended by one database function: see EventLog._append_in_database.
The link hash it computes is orchestrator_client.chain.link_hash, byte for byte."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION orchestrator_append_events(p_channel text, p_events text)
RETURNS bigint LANGUAGE plpgsql AS $$
-- p_events: a JSON array of [asset_kind, event_kind, asset_key, asset_json, content_digest].
DECLARE
    v_position bigint;
    v_prev text;
    v_hash text;
    v_timestamp text;
    v_event json;
BEGIN
    SELECT position, hash INTO v_position, v_hash
        FROM orchestrator_channelhead WHERE channel = p_channel FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING MESSAGE = 'unknown channel ' || p_channel;
    END IF;
    -- Taken under the head's lock, so that timestamps never decrease with positions.
    v_timestamp := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    FOR v_event IN SELECT value FROM json_array_elements(p_events::json) LOOP
        v_position := v_position + 1;
        v_prev := v_hash;
        v_hash := encode(sha256(convert_to(
            v_prev || '|' || v_position || '|' || v_timestamp || '|' || (v_event->>4), 'UTF8')), 'hex');
        INSERT INTO orchestrator_event
            (channel, position, asset_kind, event_kind, asset_key, timestamp, asset_json, prev_hash, hash)
            VALUES (p_channel, v_position, v_event->>0, v_event->>1, v_event->>2, v_timestamp,
                    v_event->>3, v_prev, v_hash);
    END LOOP;
    UPDATE orchestrator_channelhead SET position = v_position, hash = v_hash WHERE channel = p_channel;
    PERFORM pg_notify('orchestrator_events', p_channel);
    RETURN v_position;
END
$$;
"""

DROP = "DROP FUNCTION IF EXISTS orchestrator_append_events(text, text)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0002_task_status_indexes")]
    operations = [migrations.RunPython(create, drop)]
