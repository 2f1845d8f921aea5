"""Rendering domain results into neutral cards and texts."""
