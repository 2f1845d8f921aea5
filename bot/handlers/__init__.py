"""Feature routers, included into one root router by the app."""

from bot.command_log import log_command
from bot.handlers.goals import router as goals_router
from bot.handlers.help import router as help_router
from bot.handlers.organisation import router as organisation_router
from bot.handlers.tasks import router as tasks_router
from bot.router import Router
from bot.workflows import routers as workflow_routers
from bot.workflows.calendar.notice import calendar_notice


def root_router() -> Router:
    root = Router("root")
    root.middlewares.append(log_command)
    root.middlewares.append(calendar_notice)
    root.include_router(tasks_router)
    root.include_router(organisation_router)
    root.include_router(goals_router)
    for router in workflow_routers():
        root.include_router(router)
    root.include_router(help_router)
    return root
