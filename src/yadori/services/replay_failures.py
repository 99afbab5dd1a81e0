"""How a replay tells a mutation's own failure from one that must fail the whole run.

A mutation made at another node may fail here for reasons of its own: arguments the decoder
cannot read, a bug in the code replaying it, rows the database refuses for their data. Those fail
again on every resend, so the mutation is refused alone as ``ReplayFailed`` and logged once, and
the rest of its run is applied (decision 0051, 0052). Anything else (a service's error, the
database's other errors, running out of memory) fails the run, to be retried.
"""

from __future__ import annotations

import logging

from yadori.domain.errors import DomainError
from yadori.services.commands import Command, command_from
from yadori.services.errors import ReplayFailed, ServiceError
from yadori.services.ports import UnitOfWork
from yadori.sync.mutation import Mutation

log = logging.getLogger("yadori.sync")


class Refused(Exception):
    """A mutation of an optimistic run was refused: redo the run with savepoints."""


def decode(mutation: Mutation) -> Command | DomainError:
    """The mutation's command, or why it cannot be decoded (raised when it is replayed)."""
    try:
        return command_from(mutation.name, mutation.args)
    except DomainError as exc:
        return exc
    except Exception as exc:  # arguments the decoder did not expect: refused alone
        failed = ReplayFailed(
            f"its arguments could not be read ({type(exc).__name__})", mutation=mutation.id
        )
        failed.__cause__ = exc
        return failed


def failure(uow: UnitOfWork, mutation: Mutation, exc: Exception) -> ReplayFailed:
    """The refusal of a mutation whose replay raised ``exc``, which no business rule raised.

    Re-raises what must fail the whole run instead: a service's error, the database's own (a
    lost connection is retried; a duplicate has its one-by-one path), running out of memory.
    """
    if not _its_own(uow, exc):
        raise exc
    refused = uow.refused_data(exc)
    if refused is not None:  # a bug that writes what the database refuses, every time
        why = f"central's database refused its data ({refused}); it was logged there"
    else:
        why = f"central could not apply it ({type(exc).__name__}); it was logged there"
    failed = ReplayFailed(why, mutation=mutation.id)
    failed.__cause__ = exc
    return failed


def _its_own(uow: UnitOfWork, exc: Exception) -> bool:
    """Whether ``exc``, met replaying a mutation, is that mutation's own.

    A bug in the code replaying it, or rows of it the database refuses for their data (again
    on every resend). Not a service's error, running out of memory, nor the database's other
    errors (a lost connection is retried; a duplicate key has its one-by-one path): those fail
    the run.
    """
    if uow.refused_data(exc) is not None:
        return True
    return not (isinstance(exc, ServiceError | MemoryError) or uow.from_storage(exc))


def flush_optimistic(uow: UnitOfWork) -> None:
    """Write the rows an optimistic run's mutations left behind, before its own bookkeeping.

    Writing them fails for one of the mutations, unknown which (rows the database refuses, a
    value a column's type cannot take): the run is redone with a savepoint per mutation, whose
    end writes that mutation's rows, so the failure is that mutation's alone.
    """
    try:
        uow.flush()
    except Exception as exc:
        if _its_own(uow, exc):
            raise Refused from exc
        raise


def log_failed(mutation: Mutation, failed: ReplayFailed) -> None:
    """Log a mutation refused as ``ReplayFailed``, with the error behind it, once."""
    cause = failed.__cause__
    log.error(
        "replaying mutation %s (%s, seq %s of %s) failed: it is rejected alone (%s)",
        mutation.id,
        mutation.name,
        mutation.seq,
        mutation.origin,
        failed.message,
        exc_info=(type(cause), cause, cause.__traceback__) if cause is not None else None,
    )
