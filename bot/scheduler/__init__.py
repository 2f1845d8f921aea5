"""Scheduled sweeps: run every minute by APScheduler, or once for an instant by `tuijin tick`."""
