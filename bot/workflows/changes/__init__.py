"""变更申请: a change to a task's deadline, owner, goal or deliverables takes effect only when all agree."""
