"""Choosing the next push batch: lanes in priority order, dependencies always first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yadori.sync.batching import Pending, choose_batch


def p(seq: int, priority: int, *deps: int) -> Pending:
    """A pending mutation named by its seq."""
    return Pending(f"m{seq}", seq, priority, tuple(f"m{d}" for d in deps))


def test_lanes_go_in_priority_order_oldest_first() -> None:
    """Payments before stays before logs; within a lane by seq."""
    batch = choose_batch([p(1, 4), p(2, 0), p(3, 1), p(4, 0)], 10)
    assert [x.seq for x in batch] == [2, 4, 3, 1]


def test_a_dependency_in_a_lower_lane_is_pulled_forward() -> None:
    """A payment that depends on a check-in (lane 1) brings the check-in just before it."""
    batch = choose_batch([p(1, 1), p(2, 4), p(3, 0, 1)], 2)
    assert [x.seq for x in batch] == [1, 3]


def test_dependencies_already_sent_do_not_block() -> None:
    """A dependency that is not pending any more (sent or done) is simply satisfied."""
    assert [x.seq for x in choose_batch([p(5, 0, 4)], 10)] == [5]


def test_a_shared_dependency_is_taken_once() -> None:
    """A diamond: two mutations depending on one check-in send it once, first."""
    batch = choose_batch([p(1, 1), p(2, 0, 1), p(3, 0, 1, 2)], 10)
    assert [x.seq for x in batch] == [1, 2, 3]


def test_the_limit_cuts_between_chains_not_inside_one() -> None:
    """A chain is kept whole even if it overshoots the limit; then the batch stops."""
    chain = [p(1, 2), p(2, 2, 1), p(3, 0, 2), p(4, 0)]
    batch = choose_batch(chain, 1)
    assert [x.seq for x in batch] == [1, 2, 3]
    assert choose_batch([], 10) == []


@st.composite
def queues(draw: st.DrawFn) -> list[Pending]:
    """Pending mutations whose deps point to earlier ones (some of which are already gone)."""
    n = draw(st.integers(1, 40))
    out = []
    for seq in range(1, n + 1):
        deps = draw(st.lists(st.integers(1, seq - 1), max_size=3)) if seq > 1 else []
        out.append(p(seq, draw(st.integers(0, 4)), *sorted(set(deps))))
    gone = draw(st.sets(st.integers(1, n)))
    return [x for x in out if x.seq not in gone]


@given(queues(), st.integers(1, 50))
def test_never_a_mutation_before_its_pending_dependencies(queue: list[Pending], limit: int) -> None:
    """Every pending dependency of a chosen mutation is chosen, earlier in the batch."""
    batch = choose_batch(queue, limit)
    position = {x.id: i for i, x in enumerate(batch)}
    pending = {x.id for x in queue}
    assert len(position) == len(batch)  # no mutation twice
    for i, x in enumerate(batch):
        for dep in x.deps:
            if dep in pending:
                assert position[dep] < i


@given(queues())
def test_pushing_batch_after_batch_drains_everything(queue: list[Pending]) -> None:
    """Repeated batches of any size eventually send every pending mutation exactly once."""
    sent: list[str] = []
    left = list(queue)
    while left:
        batch = choose_batch(left, 3)
        assert batch
        sent += [x.id for x in batch]
        chosen = {x.id for x in batch}
        left = [x for x in left if x.id not in chosen]
    assert sorted(sent) == sorted(x.id for x in queue)
