"""Yadori (宿り): an offline-first hotel system — front desk, room service and loyalty."""

__version__ = "0.1.0"
