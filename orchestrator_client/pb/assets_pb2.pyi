from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssetKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSET_UNKNOWN: _ClassVar[AssetKind]
    ASSET_ORGANIZATION: _ClassVar[AssetKind]
    ASSET_DATA_MANAGER: _ClassVar[AssetKind]
    ASSET_DATA_SAMPLE: _ClassVar[AssetKind]
    ASSET_FUNCTION: _ClassVar[AssetKind]
    ASSET_COMPUTE_PLAN: _ClassVar[AssetKind]
    ASSET_COMPUTE_TASK: _ClassVar[AssetKind]
    ASSET_MODEL: _ClassVar[AssetKind]
    ASSET_PERFORMANCE: _ClassVar[AssetKind]
    ASSET_FAILURE_REPORT: _ClassVar[AssetKind]

class ComputeTaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNKNOWN: _ClassVar[ComputeTaskStatus]
    STATUS_WAITING_FOR_BUILDER_SLOT: _ClassVar[ComputeTaskStatus]
    STATUS_BUILDING: _ClassVar[ComputeTaskStatus]
    STATUS_WAITING_FOR_PARENT_TASKS: _ClassVar[ComputeTaskStatus]
    STATUS_WAITING_FOR_EXECUTOR_SLOT: _ClassVar[ComputeTaskStatus]
    STATUS_EXECUTING: _ClassVar[ComputeTaskStatus]
    STATUS_DONE: _ClassVar[ComputeTaskStatus]
    STATUS_FAILED: _ClassVar[ComputeTaskStatus]
    STATUS_CANCELED: _ClassVar[ComputeTaskStatus]

class ComputePlanStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_STATUS_UNKNOWN: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_CREATED: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_DOING: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_DONE: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_FAILED: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_CANCELED: _ClassVar[ComputePlanStatus]

class FunctionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FUNCTION_STATUS_UNKNOWN: _ClassVar[FunctionStatus]
    FUNCTION_STATUS_WAITING: _ClassVar[FunctionStatus]
    FUNCTION_STATUS_BUILDING: _ClassVar[FunctionStatus]
    FUNCTION_STATUS_READY: _ClassVar[FunctionStatus]
    FUNCTION_STATUS_FAILED: _ClassVar[FunctionStatus]
    FUNCTION_STATUS_CANCELED: _ClassVar[FunctionStatus]

class ErrorType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_TYPE_UNSPECIFIED: _ClassVar[ErrorType]
    BUILD_ERROR: _ClassVar[ErrorType]
    EXECUTION_ERROR: _ClassVar[ErrorType]
    INTERNAL_ERROR: _ClassVar[ErrorType]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_UNKNOWN: _ClassVar[EventKind]
    EVENT_ASSET_CREATED: _ClassVar[EventKind]
    EVENT_ASSET_UPDATED: _ClassVar[EventKind]
    EVENT_ASSET_DISABLED: _ClassVar[EventKind]
ASSET_UNKNOWN: AssetKind
ASSET_ORGANIZATION: AssetKind
ASSET_DATA_MANAGER: AssetKind
ASSET_DATA_SAMPLE: AssetKind
ASSET_FUNCTION: AssetKind
ASSET_COMPUTE_PLAN: AssetKind
ASSET_COMPUTE_TASK: AssetKind
ASSET_MODEL: AssetKind
ASSET_PERFORMANCE: AssetKind
ASSET_FAILURE_REPORT: AssetKind
STATUS_UNKNOWN: ComputeTaskStatus
STATUS_WAITING_FOR_BUILDER_SLOT: ComputeTaskStatus
STATUS_BUILDING: ComputeTaskStatus
STATUS_WAITING_FOR_PARENT_TASKS: ComputeTaskStatus
STATUS_WAITING_FOR_EXECUTOR_SLOT: ComputeTaskStatus
STATUS_EXECUTING: ComputeTaskStatus
STATUS_DONE: ComputeTaskStatus
STATUS_FAILED: ComputeTaskStatus
STATUS_CANCELED: ComputeTaskStatus
PLAN_STATUS_UNKNOWN: ComputePlanStatus
PLAN_STATUS_CREATED: ComputePlanStatus
PLAN_STATUS_DOING: ComputePlanStatus
PLAN_STATUS_DONE: ComputePlanStatus
PLAN_STATUS_FAILED: ComputePlanStatus
PLAN_STATUS_CANCELED: ComputePlanStatus
FUNCTION_STATUS_UNKNOWN: FunctionStatus
FUNCTION_STATUS_WAITING: FunctionStatus
FUNCTION_STATUS_BUILDING: FunctionStatus
FUNCTION_STATUS_READY: FunctionStatus
FUNCTION_STATUS_FAILED: FunctionStatus
FUNCTION_STATUS_CANCELED: FunctionStatus
ERROR_TYPE_UNSPECIFIED: ErrorType
BUILD_ERROR: ErrorType
EXECUTION_ERROR: ErrorType
INTERNAL_ERROR: ErrorType
EVENT_UNKNOWN: EventKind
EVENT_ASSET_CREATED: EventKind
EVENT_ASSET_UPDATED: EventKind
EVENT_ASSET_DISABLED: EventKind

class Permission(_message.Message):
    __slots__ = ("public", "authorized_ids")
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZED_IDS_FIELD_NUMBER: _ClassVar[int]
    public: bool
    authorized_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, public: _Optional[bool] = ..., authorized_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Permissions(_message.Message):
    __slots__ = ("process",)
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    process: Permission
    def __init__(self, process: _Optional[_Union[Permission, _Mapping]] = ...) -> None: ...

class Addressable(_message.Message):
    __slots__ = ("checksum", "storage_address")
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    STORAGE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    checksum: str
    storage_address: str
    def __init__(self, checksum: _Optional[str] = ..., storage_address: _Optional[str] = ...) -> None: ...

class Organization(_message.Message):
    __slots__ = ("id", "address", "creation_date")
    ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    address: str
    creation_date: str
    def __init__(self, id: _Optional[str] = ..., address: _Optional[str] = ..., creation_date: _Optional[str] = ...) -> None: ...

class DataManager(_message.Message):
    __slots__ = ("key", "name", "owner", "permissions", "opener", "description", "type", "metadata", "logs_permission", "creation_date")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OPENER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    LOGS_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    owner: str
    permissions: Permissions
    opener: Addressable
    description: Addressable
    type: str
    metadata: _containers.ScalarMap[str, str]
    logs_permission: Permission
    creation_date: str
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., owner: _Optional[str] = ..., permissions: _Optional[_Union[Permissions, _Mapping]] = ..., opener: _Optional[_Union[Addressable, _Mapping]] = ..., description: _Optional[_Union[Addressable, _Mapping]] = ..., type: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., logs_permission: _Optional[_Union[Permission, _Mapping]] = ..., creation_date: _Optional[str] = ...) -> None: ...

class DataSample(_message.Message):
    __slots__ = ("key", "owner", "checksum", "data_manager_keys", "creation_date")
    KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    DATA_MANAGER_KEYS_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    owner: str
    checksum: str
    data_manager_keys: _containers.RepeatedScalarFieldContainer[str]
    creation_date: str
    def __init__(self, key: _Optional[str] = ..., owner: _Optional[str] = ..., checksum: _Optional[str] = ..., data_manager_keys: _Optional[_Iterable[str]] = ..., creation_date: _Optional[str] = ...) -> None: ...

class FunctionInput(_message.Message):
    __slots__ = ("kind", "multiple", "optional")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    kind: AssetKind
    multiple: bool
    optional: bool
    def __init__(self, kind: _Optional[_Union[AssetKind, str]] = ..., multiple: _Optional[bool] = ..., optional: _Optional[bool] = ...) -> None: ...

class FunctionOutput(_message.Message):
    __slots__ = ("kind", "multiple")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    kind: AssetKind
    multiple: bool
    def __init__(self, kind: _Optional[_Union[AssetKind, str]] = ..., multiple: _Optional[bool] = ...) -> None: ...

class Function(_message.Message):
    __slots__ = ("key", "name", "owner", "permissions", "description", "archive", "metadata", "inputs", "outputs", "status", "image", "creation_date")
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
        value: FunctionInput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FunctionInput, _Mapping]] = ...) -> None: ...
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FunctionOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FunctionOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    owner: str
    permissions: Permissions
    description: Addressable
    archive: Addressable
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.MessageMap[str, FunctionInput]
    outputs: _containers.MessageMap[str, FunctionOutput]
    status: FunctionStatus
    image: str
    creation_date: str
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., owner: _Optional[str] = ..., permissions: _Optional[_Union[Permissions, _Mapping]] = ..., description: _Optional[_Union[Addressable, _Mapping]] = ..., archive: _Optional[_Union[Addressable, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Mapping[str, FunctionInput]] = ..., outputs: _Optional[_Mapping[str, FunctionOutput]] = ..., status: _Optional[_Union[FunctionStatus, str]] = ..., image: _Optional[str] = ..., creation_date: _Optional[str] = ...) -> None: ...

class ComputePlan(_message.Message):
    __slots__ = ("key", "name", "owner", "tag", "metadata", "status", "task_count", "done_count", "failed_task_key", "creation_date", "start_date", "end_date", "cancelation_date", "failure_date")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    DONE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    CANCELATION_DATE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    owner: str
    tag: str
    metadata: _containers.ScalarMap[str, str]
    status: ComputePlanStatus
    task_count: int
    done_count: int
    failed_task_key: str
    creation_date: str
    start_date: str
    end_date: str
    cancelation_date: str
    failure_date: str
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., owner: _Optional[str] = ..., tag: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[ComputePlanStatus, str]] = ..., task_count: _Optional[int] = ..., done_count: _Optional[int] = ..., failed_task_key: _Optional[str] = ..., creation_date: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., cancelation_date: _Optional[str] = ..., failure_date: _Optional[str] = ...) -> None: ...

class ParentTaskOutputRef(_message.Message):
    __slots__ = ("parent_task_key", "output_identifier")
    PARENT_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    parent_task_key: str
    output_identifier: str
    def __init__(self, parent_task_key: _Optional[str] = ..., output_identifier: _Optional[str] = ...) -> None: ...

class ComputeTaskInput(_message.Message):
    __slots__ = ("identifier", "asset_key", "parent_task_output")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    ASSET_KEY_FIELD_NUMBER: _ClassVar[int]
    PARENT_TASK_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    identifier: str
    asset_key: str
    parent_task_output: ParentTaskOutputRef
    def __init__(self, identifier: _Optional[str] = ..., asset_key: _Optional[str] = ..., parent_task_output: _Optional[_Union[ParentTaskOutputRef, _Mapping]] = ...) -> None: ...

class ComputeTaskOutput(_message.Message):
    __slots__ = ("permissions", "transient")
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    TRANSIENT_FIELD_NUMBER: _ClassVar[int]
    permissions: Permissions
    transient: bool
    def __init__(self, permissions: _Optional[_Union[Permissions, _Mapping]] = ..., transient: _Optional[bool] = ...) -> None: ...

class ComputeTask(_message.Message):
    __slots__ = ("key", "function_key", "owner", "compute_plan_key", "worker", "rank", "status", "tag", "metadata", "inputs", "outputs", "logs_permission", "parent_task_keys", "error_type", "creation_date", "start_date", "end_date")
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
        value: ComputeTaskOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ComputeTaskOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_PLAN_KEY_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    LOGS_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    PARENT_TASK_KEYS_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    function_key: str
    owner: str
    compute_plan_key: str
    worker: str
    rank: int
    status: ComputeTaskStatus
    tag: str
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.RepeatedCompositeFieldContainer[ComputeTaskInput]
    outputs: _containers.MessageMap[str, ComputeTaskOutput]
    logs_permission: Permission
    parent_task_keys: _containers.RepeatedScalarFieldContainer[str]
    error_type: ErrorType
    creation_date: str
    start_date: str
    end_date: str
    def __init__(self, key: _Optional[str] = ..., function_key: _Optional[str] = ..., owner: _Optional[str] = ..., compute_plan_key: _Optional[str] = ..., worker: _Optional[str] = ..., rank: _Optional[int] = ..., status: _Optional[_Union[ComputeTaskStatus, str]] = ..., tag: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Iterable[_Union[ComputeTaskInput, _Mapping]]] = ..., outputs: _Optional[_Mapping[str, ComputeTaskOutput]] = ..., logs_permission: _Optional[_Union[Permission, _Mapping]] = ..., parent_task_keys: _Optional[_Iterable[str]] = ..., error_type: _Optional[_Union[ErrorType, str]] = ..., creation_date: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("key", "compute_task_key", "compute_task_output_identifier", "address", "permissions", "owner", "disabled", "creation_date")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_OUTPUT_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    compute_task_key: str
    compute_task_output_identifier: str
    address: Addressable
    permissions: Permissions
    owner: str
    disabled: bool
    creation_date: str
    def __init__(self, key: _Optional[str] = ..., compute_task_key: _Optional[str] = ..., compute_task_output_identifier: _Optional[str] = ..., address: _Optional[_Union[Addressable, _Mapping]] = ..., permissions: _Optional[_Union[Permissions, _Mapping]] = ..., owner: _Optional[str] = ..., disabled: _Optional[bool] = ..., creation_date: _Optional[str] = ...) -> None: ...

class Performance(_message.Message):
    __slots__ = ("compute_task_key", "compute_task_output_identifier", "performance_value", "creation_date")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_OUTPUT_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_VALUE_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    compute_task_output_identifier: str
    performance_value: float
    creation_date: str
    def __init__(self, compute_task_key: _Optional[str] = ..., compute_task_output_identifier: _Optional[str] = ..., performance_value: _Optional[float] = ..., creation_date: _Optional[str] = ...) -> None: ...

class FailureReport(_message.Message):
    __slots__ = ("asset_key", "asset_kind", "error_type", "logs_address", "owner", "creation_date")
    ASSET_KEY_FIELD_NUMBER: _ClassVar[int]
    ASSET_KIND_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    LOGS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    asset_key: str
    asset_kind: AssetKind
    error_type: ErrorType
    logs_address: Addressable
    owner: str
    creation_date: str
    def __init__(self, asset_key: _Optional[str] = ..., asset_kind: _Optional[_Union[AssetKind, str]] = ..., error_type: _Optional[_Union[ErrorType, str]] = ..., logs_address: _Optional[_Union[Addressable, _Mapping]] = ..., owner: _Optional[str] = ..., creation_date: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("channel", "position", "asset_kind", "event_kind", "asset_key", "timestamp", "asset_json", "prev_hash", "hash")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ASSET_KIND_FIELD_NUMBER: _ClassVar[int]
    EVENT_KIND_FIELD_NUMBER: _ClassVar[int]
    ASSET_KEY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ASSET_JSON_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    channel: str
    position: int
    asset_kind: AssetKind
    event_kind: EventKind
    asset_key: str
    timestamp: str
    asset_json: str
    prev_hash: str
    hash: str
    def __init__(self, channel: _Optional[str] = ..., position: _Optional[int] = ..., asset_kind: _Optional[_Union[AssetKind, str]] = ..., event_kind: _Optional[_Union[EventKind, str]] = ..., asset_key: _Optional[str] = ..., timestamp: _Optional[str] = ..., asset_json: _Optional[str] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...
