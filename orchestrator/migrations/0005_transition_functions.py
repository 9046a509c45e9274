"""On PostgreSQL, the two transitions that workers call most (a task claimed, a task Done with its
models) each run as one database function call in autocommit: see `orchestrator.ledger.fast`.

The functions build the events' snapshots (canonical JSON, as `orchestrator.snapshots` and
`orchestrator.ledger.common.canonical` build them in Python, byte for byte) and their content
digests (`orchestrator_client.chain.content_digest`), then append them like
`orchestrator_append_events`. JSON strings are escaped by `to_json(text)`, which escapes exactly
what Python's `json.dumps(..., ensure_ascii=False)` escapes; JSON columns are stored as canonical
text and are copied as they are."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION orchestrator_iso(p_value timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_value IS NULL THEN ''
        ELSE to_char(p_value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END
$$;

CREATE OR REPLACE FUNCTION orchestrator_task_json(t orchestrator_computetask) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"compute_plan_key":' || to_json(t.compute_plan_id)::text
        || ',"creation_date":' || to_json(orchestrator_iso(t.creation_date))::text
        || ',"end_date":' || to_json(orchestrator_iso(t.end_date))::text
        || ',"error_type":' || to_json(CASE WHEN t.error_type = '' THEN 'ERROR_TYPE_UNSPECIFIED'
                                            ELSE t.error_type END)::text
        || ',"function_key":' || to_json(t.function_id)::text
        || ',"inputs":' || t.inputs
        || ',"key":' || to_json(t.key)::text
        || ',"logs_permission":' || t.logs_permission
        || ',"metadata":' || t.metadata
        || ',"outputs":' || t.outputs
        || ',"owner":' || to_json(t.owner)::text
        || ',"parent_task_keys":' || t.parent_task_keys
        || ',"rank":' || t.rank::text
        || ',"start_date":' || to_json(orchestrator_iso(t.start_date))::text
        || ',"status":' || to_json(t.status)::text
        || ',"tag":' || to_json(t.tag)::text
        || ',"worker":' || to_json(t.worker)::text
        || '}'
$$;

CREATE OR REPLACE FUNCTION orchestrator_plan_json(p orchestrator_computeplan) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"cancelation_date":' || to_json(orchestrator_iso(p.cancelation_date))::text
        || ',"creation_date":' || to_json(orchestrator_iso(p.creation_date))::text
        || ',"done_count":' || p.done_count::text
        || ',"end_date":' || to_json(orchestrator_iso(p.end_date))::text
        || ',"failed_task_key":' || to_json(p.failed_task_key)::text
        || ',"failure_date":' || to_json(orchestrator_iso(p.failure_date))::text
        || ',"key":' || to_json(p.key)::text
        || ',"metadata":' || p.metadata
        || ',"name":' || to_json(p.name)::text
        || ',"owner":' || to_json(p.owner)::text
        || ',"start_date":' || to_json(orchestrator_iso(p.start_date))::text
        || ',"status":' || to_json(CASE
                WHEN p.cancelation_date IS NOT NULL THEN 'PLAN_STATUS_CANCELED'
                WHEN p.failure_date IS NOT NULL THEN 'PLAN_STATUS_FAILED'
                WHEN p.task_count > 0 AND p.done_count = p.task_count THEN 'PLAN_STATUS_DONE'
                WHEN p.start_date IS NOT NULL THEN 'PLAN_STATUS_DOING'
                ELSE 'PLAN_STATUS_CREATED' END)::text
        || ',"tag":' || to_json(p.tag)::text
        || ',"task_count":' || p.task_count::text
        || '}'
$$;

CREATE OR REPLACE FUNCTION orchestrator_model_json(m orchestrator_model) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"address":{"checksum":' || to_json(m.checksum)::text
        || ',"storage_address":' || to_json(m.address)::text || '}'
        || ',"compute_task_key":' || to_json(m.compute_task_id)::text
        || ',"compute_task_output_identifier":' || to_json(m.identifier)::text
        || ',"creation_date":' || to_json(orchestrator_iso(m.creation_date))::text
        || ',"disabled":' || CASE WHEN m.disabled THEN 'true' ELSE 'false' END
        || ',"key":' || to_json(m.key)::text
        || ',"owner":' || to_json(m.owner)::text
        || ',"permissions":{"process":' || m.permissions || '}'
        || '}'
$$;

-- Appends a transaction's events as orchestrator_append_events does, computing their content
-- digests here. The arrays hold, per event: asset kind, event kind, asset key, asset JSON.
CREATE OR REPLACE FUNCTION orchestrator_append(
    p_channel text, p_kinds text[], p_event_kinds text[], p_keys text[], p_bodies text[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_position bigint;
    v_first bigint;
    v_hash text;
    v_timestamp text;
    v_prevs text[] := '{}';
    v_hashes text[] := '{}';
    v_digest text;
    i integer;
BEGIN
    IF coalesce(array_length(p_kinds, 1), 0) = 0 THEN
        RETURN NULL;
    END IF;
    SELECT position, hash INTO v_position, v_hash
        FROM orchestrator_channelhead WHERE channel = p_channel FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING MESSAGE = 'unknown channel ' || p_channel;
    END IF;
    v_first := v_position + 1;
    v_timestamp := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    FOR i IN 1 .. array_length(p_kinds, 1) LOOP
        v_digest := encode(sha256(convert_to(
            '[' || to_json(p_channel)::text || ',' || to_json(p_kinds[i])::text || ','
                || to_json(p_event_kinds[i])::text || ',' || to_json(p_keys[i])::text || ','
                || to_json(p_bodies[i])::text || ']', 'UTF8')), 'hex');
        v_position := v_position + 1;
        v_prevs := v_prevs || v_hash;
        v_hash := encode(sha256(convert_to(
            v_hash || '|' || v_position || '|' || v_timestamp || '|' || v_digest, 'UTF8')), 'hex');
        v_hashes := v_hashes || v_hash;
    END LOOP;
    INSERT INTO orchestrator_event
        (channel, position, asset_kind, event_kind, asset_key, timestamp, asset_json, prev_hash, hash)
        SELECT p_channel, v_first + e.n - 1, e.kind, e.event_kind, e.key, v_timestamp, e.body, e.prev, e.hash
        FROM unnest(p_kinds, p_event_kinds, p_keys, p_bodies, v_prevs, v_hashes)
            WITH ORDINALITY AS e(kind, event_kind, key, body, prev, hash, n);
    UPDATE orchestrator_channelhead SET position = v_position, hash = v_hash WHERE channel = p_channel;
    PERFORM pg_notify('orchestrator_events', p_channel);
    RETURN v_position;
END
$$;

-- The worker claims a task that is To do. Returns the task's snapshot, or NULL when the claim
-- does not apply (nothing is written; the caller tells why).
CREATE OR REPLACE FUNCTION orchestrator_start_task(
    p_channel text, p_org text, p_key text, p_now timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_task orchestrator_computetask;
    v_plan orchestrator_computeplan;
    v_kinds text[];
    v_event_kinds text[];
    v_keys text[];
    v_bodies text[];
    v_task_json text;
BEGIN
    UPDATE orchestrator_computetask SET status = 'STATUS_EXECUTING', start_date = p_now
        WHERE key = p_key AND channel = p_channel AND worker = p_org
            AND status = 'STATUS_WAITING_FOR_EXECUTOR_SLOT'
        RETURNING * INTO v_task;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    v_task_json := orchestrator_task_json(v_task);
    v_kinds := ARRAY['ASSET_COMPUTE_TASK'];
    v_event_kinds := ARRAY['EVENT_ASSET_UPDATED'];
    v_keys := ARRAY[v_task.key];
    v_bodies := ARRAY[v_task_json];
    UPDATE orchestrator_computeplan SET start_date = p_now
        WHERE key = v_task.compute_plan_id AND start_date IS NULL
        RETURNING * INTO v_plan;
    IF FOUND THEN
        v_kinds := v_kinds || 'ASSET_COMPUTE_PLAN'::text;
        v_event_kinds := v_event_kinds || 'EVENT_ASSET_UPDATED'::text;
        v_keys := v_keys || v_plan.key;
        v_bodies := v_bodies || orchestrator_plan_json(v_plan);
    END IF;
    PERFORM orchestrator_append(p_channel, v_kinds, v_event_kinds, v_keys, v_bodies);
    RETURN v_task_json;
END
$$;

-- The worker marks its executing task Done, with the models it produced:
-- p_models is a JSON array of [key, output identifier, checksum, storage address], each checked
-- for form by the caller. Registers the models, marks the task Done, unblocks its children and
-- counts it in its plan, with their events, in the order of the general path. Returns the task's
-- snapshot, or NULL, with nothing written, for anything but that common case (the general path
-- then answers, with the same checks and errors as ever).
CREATE OR REPLACE FUNCTION orchestrator_finish_task(
    p_channel text, p_org text, p_key text, p_now timestamptz, p_models text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_task orchestrator_computetask;
    v_plan orchestrator_computeplan;
    v_model orchestrator_model;
    v_child orchestrator_computetask;
    v_models json := p_models::json;
    v_entry json;
    v_declared json;
    v_declaration json;
    v_outputs json;
    v_sent text[] := '{}';
    v_identifier text;
    v_kinds text[] := '{}';
    v_event_kinds text[] := '{}';
    v_keys text[] := '{}';
    v_bodies text[] := '{}';
    v_task_json text;
BEGIN
    SELECT * INTO v_task FROM orchestrator_computetask
        WHERE key = p_key AND channel = p_channel FOR UPDATE;
    IF NOT FOUND OR v_task.worker <> p_org OR v_task.status <> 'STATUS_EXECUTING' THEN
        RETURN NULL;
    END IF;
    SELECT outputs::json INTO v_declared FROM orchestrator_function WHERE key = v_task.function_id;
    v_outputs := v_task.outputs::json;
    -- Checks first: nothing is written unless the whole request takes the common path.
    FOR v_entry IN SELECT value FROM json_array_elements(v_models) LOOP
        v_identifier := v_entry->>1;
        v_declaration := v_declared -> v_identifier;
        IF v_declaration IS NULL OR v_declaration->>'kind' <> 'ASSET_MODEL'
                OR v_outputs -> v_identifier -> 'permissions' -> 'process' IS NULL THEN
            RETURN NULL;
        END IF;
        IF v_identifier = ANY (v_sent) AND NOT coalesce((v_declaration->>'multiple')::boolean, false) THEN
            RETURN NULL;
        END IF;
        v_sent := v_sent || v_identifier;
        IF EXISTS (SELECT 1 FROM orchestrator_model WHERE key = v_entry->>0) THEN
            RETURN NULL;
        END IF;
        IF NOT coalesce((v_declaration->>'multiple')::boolean, false) AND EXISTS (
                SELECT 1 FROM orchestrator_model WHERE compute_task_id = p_key AND identifier = v_identifier) THEN
            RETURN NULL;
        END IF;
    END LOOP;
    FOR v_identifier IN SELECT json_object_keys(v_declared) LOOP
        IF NOT v_identifier = ANY (v_sent)
            AND NOT EXISTS (SELECT 1 FROM orchestrator_model WHERE compute_task_id = p_key AND identifier = v_identifier)
            AND NOT EXISTS (SELECT 1 FROM orchestrator_performance
                            WHERE compute_task_id = p_key AND identifier = v_identifier) THEN
            RETURN NULL;
        END IF;
    END LOOP;
    FOR v_entry IN SELECT value FROM json_array_elements(v_models) LOOP
        INSERT INTO orchestrator_model
            (key, channel, compute_task_id, identifier, owner, checksum, address, permissions, disabled,
             creation_date)
            VALUES (v_entry->>0, p_channel, p_key, v_entry->>1, p_org, v_entry->>2, v_entry->>3,
                    (v_outputs -> (v_entry->>1) -> 'permissions' -> 'process')::text, false, p_now)
            RETURNING * INTO v_model;
        v_kinds := v_kinds || 'ASSET_MODEL'::text;
        v_event_kinds := v_event_kinds || 'EVENT_ASSET_CREATED'::text;
        v_keys := v_keys || v_model.key;
        v_bodies := v_bodies || orchestrator_model_json(v_model);
    END LOOP;
    UPDATE orchestrator_computetask SET status = 'STATUS_DONE', end_date = p_now
        WHERE key = p_key RETURNING * INTO v_task;
    v_task_json := orchestrator_task_json(v_task);
    v_kinds := v_kinds || 'ASSET_COMPUTE_TASK'::text;
    v_event_kinds := v_event_kinds || 'EVENT_ASSET_UPDATED'::text;
    v_keys := v_keys || v_task.key;
    v_bodies := v_bodies || v_task_json;
    FOR v_child IN
        UPDATE orchestrator_computetask SET pending_parents = pending_parents - 1,
            status = CASE WHEN pending_parents = 1 AND status = 'STATUS_WAITING_FOR_PARENT_TASKS'
                          THEN 'STATUS_WAITING_FOR_EXECUTOR_SLOT' ELSE status END
        WHERE key IN (SELECT child_id FROM orchestrator_taskparent WHERE parent_id = p_key)
            AND status NOT IN ('STATUS_DONE', 'STATUS_FAILED', 'STATUS_CANCELED')
        RETURNING *
    LOOP
        IF v_child.status = 'STATUS_WAITING_FOR_EXECUTOR_SLOT' AND v_child.pending_parents = 0 THEN
            v_kinds := v_kinds || 'ASSET_COMPUTE_TASK'::text;
            v_event_kinds := v_event_kinds || 'EVENT_ASSET_UPDATED'::text;
            v_keys := v_keys || v_child.key;
            v_bodies := v_bodies || orchestrator_task_json(v_child);
        END IF;
    END LOOP;
    UPDATE orchestrator_computeplan SET done_count = done_count + 1,
        end_date = CASE WHEN done_count + 1 = task_count THEN p_now ELSE end_date END
        WHERE key = v_task.compute_plan_id RETURNING * INTO v_plan;
    IF v_plan.done_count = v_plan.task_count THEN
        v_kinds := v_kinds || 'ASSET_COMPUTE_PLAN'::text;
        v_event_kinds := v_event_kinds || 'EVENT_ASSET_UPDATED'::text;
        v_keys := v_keys || v_plan.key;
        v_bodies := v_bodies || orchestrator_plan_json(v_plan);
    END IF;
    PERFORM orchestrator_append(p_channel, v_kinds, v_event_kinds, v_keys, v_bodies);
    RETURN v_task_json;
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS orchestrator_finish_task(text, text, text, timestamptz, text);
DROP FUNCTION IF EXISTS orchestrator_start_task(text, text, text, timestamptz);
DROP FUNCTION IF EXISTS orchestrator_append(text, text[], text[], text[], text[]);
DROP FUNCTION IF EXISTS orchestrator_model_json(orchestrator_model);
DROP FUNCTION IF EXISTS orchestrator_plan_json(orchestrator_computeplan);
DROP FUNCTION IF EXISTS orchestrator_task_json(orchestrator_computetask);
DROP FUNCTION IF EXISTS orchestrator_iso(timestamptz);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0004_edges_checked_by_the_ledger")]
    operations = [migrations.RunPython(create, drop)]
