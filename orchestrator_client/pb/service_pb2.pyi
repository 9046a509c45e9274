from orchestrator_client.pb import assets_pb2 as _assets_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FunctionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FUNCTION_ACTION_UNKNOWN: _ClassVar[FunctionAction]
    FUNCTION_ACTION_BUILDING: _ClassVar[FunctionAction]
    FUNCTION_ACTION_READY: _ClassVar[FunctionAction]
    FUNCTION_ACTION_CANCELED: _ClassVar[FunctionAction]

class TaskAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_ACTION_UNKNOWN: _ClassVar[TaskAction]
    TASK_ACTION_EXECUTING: _ClassVar[TaskAction]
    TASK_ACTION_DONE: _ClassVar[TaskAction]
    TASK_ACTION_CANCELED: _ClassVar[TaskAction]
FUNCTION_ACTION_UNKNOWN: FunctionAction
FUNCTION_ACTION_BUILDING: FunctionAction
FUNCTION_ACTION_READY: FunctionAction
FUNCTION_ACTION_CANCELED: FunctionAction
TASK_ACTION_UNKNOWN: TaskAction
TASK_ACTION_EXECUTING: TaskAction
TASK_ACTION_DONE: TaskAction
TASK_ACTION_CANCELED: TaskAction

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KeyParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class RenameParam(_message.Message):
    __slots__ = ("key", "name")
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RegisterOrganizationParam(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class OrganizationsResponse(_message.Message):
    __slots__ = ("organizations",)
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    organizations: _containers.RepeatedCompositeFieldContainer[_assets_pb2.Organization]
    def __init__(self, organizations: _Optional[_Iterable[_Union[_assets_pb2.Organization, _Mapping]]] = ...) -> None: ...

class NewDataManager(_message.Message):
    __slots__ = ("key", "name", "new_permissions", "opener", "description", "type", "metadata", "logs_permission")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OPENER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    LOGS_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    new_permissions: _assets_pb2.Permission
    opener: _assets_pb2.Addressable
    description: _assets_pb2.Addressable
    type: str
    metadata: _containers.ScalarMap[str, str]
    logs_permission: _assets_pb2.Permission
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., new_permissions: _Optional[_Union[_assets_pb2.Permission, _Mapping]] = ..., opener: _Optional[_Union[_assets_pb2.Addressable, _Mapping]] = ..., description: _Optional[_Union[_assets_pb2.Addressable, _Mapping]] = ..., type: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., logs_permission: _Optional[_Union[_assets_pb2.Permission, _Mapping]] = ...) -> None: ...

class NewDataSample(_message.Message):
    __slots__ = ("key", "checksum", "data_manager_keys")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    DATA_MANAGER_KEYS_FIELD_NUMBER: _ClassVar[int]
    key: str
    checksum: str
    data_manager_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., checksum: _Optional[str] = ..., data_manager_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class RegisterDataSamplesParam(_message.Message):
    __slots__ = ("samples",)
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[NewDataSample]
    def __init__(self, samples: _Optional[_Iterable[_Union[NewDataSample, _Mapping]]] = ...) -> None: ...

class LinkDataSamplesParam(_message.Message):
    __slots__ = ("data_manager_keys", "data_sample_keys")
    DATA_MANAGER_KEYS_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    data_manager_keys: _containers.RepeatedScalarFieldContainer[str]
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data_manager_keys: _Optional[_Iterable[str]] = ..., data_sample_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class DataSamplesResponse(_message.Message):
    __slots__ = ("data_samples",)
    DATA_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    data_samples: _containers.RepeatedCompositeFieldContainer[_assets_pb2.DataSample]
    def __init__(self, data_samples: _Optional[_Iterable[_Union[_assets_pb2.DataSample, _Mapping]]] = ...) -> None: ...

class NewFunction(_message.Message):
    __slots__ = ("key", "name", "new_permissions", "description", "archive", "metadata", "inputs", "outputs")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _assets_pb2.FunctionInput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_assets_pb2.FunctionInput, _Mapping]] = ...) -> None: ...
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _assets_pb2.FunctionOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_assets_pb2.FunctionOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    new_permissions: _assets_pb2.Permission
    description: _assets_pb2.Addressable
    archive: _assets_pb2.Addressable
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.MessageMap[str, _assets_pb2.FunctionInput]
    outputs: _containers.MessageMap[str, _assets_pb2.FunctionOutput]
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., new_permissions: _Optional[_Union[_assets_pb2.Permission, _Mapping]] = ..., description: _Optional[_Union[_assets_pb2.Addressable, _Mapping]] = ..., archive: _Optional[_Union[_assets_pb2.Addressable, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Mapping[str, _assets_pb2.FunctionInput]] = ..., outputs: _Optional[_Mapping[str, _assets_pb2.FunctionOutput]] = ...) -> None: ...

class FunctionActionParam(_message.Message):
    __slots__ = ("key", "action", "image")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    key: str
    action: FunctionAction
    image: str
    def __init__(self, key: _Optional[str] = ..., action: _Optional[_Union[FunctionAction, str]] = ..., image: _Optional[str] = ...) -> None: ...

class NewComputePlan(_message.Message):
    __slots__ = ("key", "name", "tag", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    tag: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., tag: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class NewComputeTask(_message.Message):
    __slots__ = ("key", "function_key", "compute_plan_key", "worker", "tag", "metadata", "inputs", "outputs")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _assets_pb2.ComputeTaskOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_assets_pb2.ComputeTaskOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_PLAN_KEY_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    key: str
    function_key: str
    compute_plan_key: str
    worker: str
    tag: str
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.RepeatedCompositeFieldContainer[_assets_pb2.ComputeTaskInput]
    outputs: _containers.MessageMap[str, _assets_pb2.ComputeTaskOutput]
    def __init__(self, key: _Optional[str] = ..., function_key: _Optional[str] = ..., compute_plan_key: _Optional[str] = ..., worker: _Optional[str] = ..., tag: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Iterable[_Union[_assets_pb2.ComputeTaskInput, _Mapping]]] = ..., outputs: _Optional[_Mapping[str, _assets_pb2.ComputeTaskOutput]] = ...) -> None: ...

class RegisterTasksParam(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[NewComputeTask]
    def __init__(self, tasks: _Optional[_Iterable[_Union[NewComputeTask, _Mapping]]] = ...) -> None: ...

class RegisterTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_assets_pb2.ComputeTask]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_assets_pb2.ComputeTask, _Mapping]]] = ...) -> None: ...

class TaskActionParam(_message.Message):
    __slots__ = ("key", "action", "models", "performances")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCES_FIELD_NUMBER: _ClassVar[int]
    key: str
    action: TaskAction
    models: _containers.RepeatedCompositeFieldContainer[NewModel]
    performances: _containers.RepeatedCompositeFieldContainer[NewPerformance]
    def __init__(self, key: _Optional[str] = ..., action: _Optional[_Union[TaskAction, str]] = ..., models: _Optional[_Iterable[_Union[NewModel, _Mapping]]] = ..., performances: _Optional[_Iterable[_Union[NewPerformance, _Mapping]]] = ...) -> None: ...

class NewModel(_message.Message):
    __slots__ = ("key", "compute_task_key", "compute_task_output_identifier", "address")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_OUTPUT_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    key: str
    compute_task_key: str
    compute_task_output_identifier: str
    address: _assets_pb2.Addressable
    def __init__(self, key: _Optional[str] = ..., compute_task_key: _Optional[str] = ..., compute_task_output_identifier: _Optional[str] = ..., address: _Optional[_Union[_assets_pb2.Addressable, _Mapping]] = ...) -> None: ...

class RegisterModelsParam(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[NewModel]
    def __init__(self, models: _Optional[_Iterable[_Union[NewModel, _Mapping]]] = ...) -> None: ...

class ModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_assets_pb2.Model]
    def __init__(self, models: _Optional[_Iterable[_Union[_assets_pb2.Model, _Mapping]]] = ...) -> None: ...

class NewPerformance(_message.Message):
    __slots__ = ("compute_task_key", "compute_task_output_identifier", "performance_value")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_OUTPUT_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_VALUE_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    compute_task_output_identifier: str
    performance_value: float
    def __init__(self, compute_task_key: _Optional[str] = ..., compute_task_output_identifier: _Optional[str] = ..., performance_value: _Optional[float] = ...) -> None: ...

class NewFailureReport(_message.Message):
    __slots__ = ("asset_key", "asset_kind", "error_type", "logs_address")
    ASSET_KEY_FIELD_NUMBER: _ClassVar[int]
    ASSET_KIND_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    LOGS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    asset_key: str
    asset_kind: _assets_pb2.AssetKind
    error_type: _assets_pb2.ErrorType
    logs_address: _assets_pb2.Addressable
    def __init__(self, asset_key: _Optional[str] = ..., asset_kind: _Optional[_Union[_assets_pb2.AssetKind, str]] = ..., error_type: _Optional[_Union[_assets_pb2.ErrorType, str]] = ..., logs_address: _Optional[_Union[_assets_pb2.Addressable, _Mapping]] = ...) -> None: ...

class SubscribeParam(_message.Message):
    __slots__ = ("after_position",)
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    after_position: int
    def __init__(self, after_position: _Optional[int] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_assets_pb2.Event]
    def __init__(self, events: _Optional[_Iterable[_Union[_assets_pb2.Event, _Mapping]]] = ...) -> None: ...
