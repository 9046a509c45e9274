"""A task answer's snapshot is written field by field (substrapp/mirror.py): it must be exactly
what protobuf's generic MessageToDict makes of it, for any task the orchestrator can send."""

from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_client.pb import assets_pb2 as pb
from substrapp.mirror import snapshot_of

text = st.text(max_size=8)
permission = st.builds(pb.Permission, public=st.booleans(), authorized_ids=st.lists(text, max_size=3))


@st.composite
def task_inputs(draw):
    item = pb.ComputeTaskInput(identifier=draw(text))
    ref = draw(st.sampled_from(["asset_key", "parent_task_output", None]))
    if ref == "asset_key":
        item.asset_key = draw(text)  # "" too: a oneof member set to its default is still set
    elif ref == "parent_task_output":
        item.parent_task_output.CopyFrom(
            pb.ParentTaskOutputRef(parent_task_key=draw(text), output_identifier=draw(text))
        )
    return item


@st.composite
def task_outputs(draw):
    output = pb.ComputeTaskOutput(transient=draw(st.booleans()))
    shape = draw(st.sampled_from(["none", "empty", "process"]))
    if shape == "empty":
        output.permissions.SetInParent()
    elif shape == "process":
        output.permissions.process.CopyFrom(draw(permission))
    return output


@st.composite
def tasks(draw):
    task = pb.ComputeTask(
        key=draw(text), function_key=draw(text), owner=draw(text), compute_plan_key=draw(text), worker=draw(text),
        rank=draw(st.integers(-(2**31), 2**31 - 1)), status=draw(st.integers(0, 9)), tag=draw(text),
        metadata=draw(st.dictionaries(text, text, max_size=3)), inputs=draw(st.lists(task_inputs(), max_size=3)),
        parent_task_keys=draw(st.lists(text, max_size=3)), error_type=draw(st.integers(0, 4)),
        creation_date=draw(text), start_date=draw(text), end_date=draw(text),
    )  # fmt: skip
    for identifier, output in draw(st.dictionaries(text, task_outputs(), max_size=3)).items():
        task.outputs[identifier].CopyFrom(output)
    if draw(st.booleans()):
        task.logs_permission.CopyFrom(draw(permission))
    return task


@settings(max_examples=300, deadline=None)
@given(tasks())
def test_a_tasks_snapshot_is_what_message_to_dict_makes_of_it(task):
    expected = json_format.MessageToDict(
        task, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    assert snapshot_of(task) == expected
