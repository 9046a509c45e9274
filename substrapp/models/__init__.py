from substrapp.models.audit import AuditRecord, OwnLedgerEvent
from substrapp.models.computeplans import ComputePlan, PlanCreator, TaskCounts
from substrapp.models.computetasks import ComputeTask, TaskStatus
from substrapp.models.datasets import DataManager, DataSample
from substrapp.models.events import ChannelCursor
from substrapp.models.executions import PlanAffinity, TaskExecution, WorkerNode
from substrapp.models.functions import Function
from substrapp.models.organizations import Organization
from substrapp.models.outputs import FailureReport, Model, Performance
from substrapp.models.peers import IncomingPeer, OutgoingPeer
from substrapp.models.scoping import ChannelScopedQuerySet, channel_of
from substrapp.models.tokens import ExpiringToken
from substrapp.models.users import Role, UserChannel, is_channel_admin

__all__ = [
    "AuditRecord",
    "ChannelCursor",
    "ChannelScopedQuerySet",
    "ComputePlan",
    "ComputeTask",
    "DataManager",
    "DataSample",
    "ExpiringToken",
    "FailureReport",
    "Function",
    "IncomingPeer",
    "Model",
    "Organization",
    "OutgoingPeer",
    "OwnLedgerEvent",
    "Performance",
    "PlanAffinity",
    "PlanCreator",
    "Role",
    "TaskCounts",
    "TaskExecution",
    "TaskStatus",
    "UserChannel",
    "WorkerNode",
    "channel_of",
    "is_channel_admin",
]
