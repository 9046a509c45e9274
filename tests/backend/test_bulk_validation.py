"""task/bulk_create takes a batch in the SDK's plain shape in one pass (validated_tasks,
substrapp/api/serializers/computetasks.py) and leaves anything else to BulkCreateSerializer: the
pass must never accept what the serializer refuses, nor validate differently what it accepts."""

import copy
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from substra.sdk import schemas

from substrapp.api.serializers.computetasks import BulkCreateSerializer, _plain_batch

ORG = "MyOrg1MSP"
PLAN, FUNCTION, OPENER, SAMPLE = (str(uuid.UUID(int=n)) for n in (1, 2, 3, 4))


def sdk_batch(count: int = 3) -> dict:
    """A batch exactly as the substra SDK builds it (TaskSpec.build_request_kwargs)."""
    output = {"model": schemas.ComputeTaskOutputSpec(permissions={"public": False, "authorized_ids": [ORG]})}
    tasks, previous = [], None
    for index in range(count):
        inputs = [
            schemas.InputRef(identifier="opener", asset_key=OPENER),
            schemas.InputRef(identifier="datasamples", asset_key=SAMPLE),
        ]
        if previous:
            inputs.append(
                schemas.InputRef(identifier="models", parent_task_key=previous, parent_task_output_identifier="model")
            )
        previous = str(uuid.UUID(int=100 + index))
        spec = schemas.ComputePlanTaskSpec(
            task_id=previous, function_key=FUNCTION, worker=ORG, inputs=inputs, outputs=output,
            metadata={"round_idx": str(index)},
        )  # fmt: skip
        with schemas.TaskSpec.from_compute_plan(PLAN, index, spec).build_request_kwargs() as (data, _):
            tasks.append(data)
    return {"tasks": tasks}


def drf(data):
    serializer = BulkCreateSerializer(data=data)
    return serializer.validated_data["tasks"] if serializer.is_valid() else None


def test_a_batch_the_sdk_sends_is_taken_in_one_pass_as_the_serializer_validates_it():
    batch = sdk_batch()

    plain = _plain_batch(batch)

    assert plain is not None
    assert plain == drf(batch)
    assert plain[2]["inputs"][2] == {
        "identifier": "models", "asset_key": None, "parent_task_key": batch["tasks"][1]["key"],
        "parent_task_output_identifier": "model",
    }  # fmt: skip


ODD_VALUES = [
    None, "", " ", "x", " x", "x ", "x" * 101, "X" * 30, "a__b", "é", "\x00", "\ud800", "\u2003x", 0, 1, 1.0, -1, True,
    False, [], {}, ["x"], {"x": "y"}, {"public": True, "authorized_ids": []}, PLAN, PLAN.upper(), PLAN.replace("-", ""),
    f"urn:uuid:{PLAN}", str(uuid.uuid4()), ORG, "model", "true", "1",
]  # fmt: skip


def places(batch: dict) -> list[tuple]:
    """Every (container, key) of the batch whose value can be changed or removed."""
    found = [(batch, "tasks")] if "tasks" in batch else []
    pending = [batch["tasks"]] if isinstance(batch.get("tasks"), dict | list) else []
    while pending:
        value = pending.pop()
        keys = range(len(value)) if isinstance(value, list) else list(value)
        for key in keys:
            found.append((value, key))
            if isinstance(value[key], dict | list):
                pending.append(value[key])
    return found


# Most often the values that keep a batch plain or make it just wrong.
values = st.one_of(st.sampled_from([None, "", PLAN, "model", True, 1, [], "x\x00"]), st.sampled_from(ODD_VALUES))


@st.composite
def odd_batches(draw):
    batch = sdk_batch(2)
    for _ in range(draw(st.integers(1, 3))):
        if not places(batch):
            break
        container, key = draw(st.sampled_from(places(batch)))
        change = draw(st.sampled_from(["replace", "remove", "add"]))
        if change == "remove" and isinstance(container, dict):
            del container[key]
        elif change == "add" and isinstance(container, dict):
            name = draw(st.sampled_from(["transient", "is_transient", "rank", "extra", "tag", "metadata"]))
            container[name] = copy.deepcopy(draw(values))
        else:
            container[key] = copy.deepcopy(draw(values))
    return batch


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_batches())
def test_the_one_pass_accepts_only_what_the_serializer_accepts_and_validates_it_the_same(batch):
    plain = _plain_batch(copy.deepcopy(batch))
    if plain is not None:
        assert plain == drf(batch)
