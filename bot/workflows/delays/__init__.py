"""延期原因: why a task is late and by when it will be done, kept in its timeline for the monthly review."""
