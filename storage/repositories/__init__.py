"""Repositories: the only code that writes SQL. Domain repositories are bound to one tenant."""

from storage.repositories.calendar import CalendarRepository, LeaveRepository
from storage.repositories.decisions import DecisionRepository
from storage.repositories.directory import DirectoryRepository
from storage.repositories.dispatch import DispatchRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.tasks import TaskRepository
from storage.repositories.tenants import TenantRepository

__all__ = [
    "CalendarRepository",
    "DecisionRepository",
    "DirectoryRepository",
    "DispatchRepository",
    "InboxRepository",
    "LeaveRepository",
    "OutboxRepository",
    "TaskRepository",
    "TenantRepository",
]
