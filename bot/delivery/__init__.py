"""The one path out: outbox rows, then a worker that delivers them with retries."""
