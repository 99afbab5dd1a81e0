"""Errors of the use-case layer, beside the domain's own (``yadori.domain.errors``).

::

    ServiceError
    └── StorageUnavailable     (the node's database cannot be reached or is locked too long)
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """A use case could not run for a reason outside the business rules."""

    code: ClassVar[str] = "service_error"


class StorageUnavailable(ServiceError):
    """The database did not answer in time; nothing was written, the request can be retried."""

    code = "storage_unavailable"
