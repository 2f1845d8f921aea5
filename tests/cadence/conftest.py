"""Cadence scenarios use the workflow tests' console Room."""

from tests.workflows.conftest import room

__all__ = ["room"]
