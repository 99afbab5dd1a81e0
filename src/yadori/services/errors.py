"""Errors of the use-case layer, beside the domain's own (``yadori.domain.errors``).

::

    ServiceError
    └── StorageUnavailable     (the node's database cannot be reached or is locked too long)

    InvalidInput (yadori.domain.errors)
    └── ReplayFailed           (a replayed mutation broke the code that ran it: refused alone)
"""

from __future__ import annotations

from typing import ClassVar

from yadori.domain.errors import InvalidInput


class ServiceError(Exception):
    """A use case could not run for a reason outside the business rules."""

    code: ClassVar[str] = "service_error"


class StorageUnavailable(ServiceError):
    """The database did not answer in time; nothing was written, the request can be retried."""

    code = "storage_unavailable"


class ReplayFailed(InvalidInput):
    """Replaying a mutation made elsewhere raised an error that is not a business rule's.

    A bug met by that one mutation (its arguments reach a path no test took): input this node
    cannot apply, refused alone as a rule's refusal is, so the mutations after it and the
    other lanes still apply (DESIGN §11: a stuck upload queue). The database's own errors are
    not this: a lost connection is retried, a duplicate has its own path.
    """

    code = "replay_failed"
