"""Mutations: sealed with the CRC32 of every other field, so damage anywhere is noticed."""

from __future__ import annotations

import dataclasses
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.sync.canonical import encode
from yadori.sync.mutation import Actor, Mutation, Priority, make_mutation

IDS = st.text(min_size=1, max_size=12)
JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
ARGS = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        JSON_LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=6,
    ),
    max_size=5,
)
MUTATIONS = st.builds(
    make_mutation,
    id=IDS,
    origin=IDS,
    seq=st.integers(min_value=1, max_value=2**62),
    hlc=IDS,
    name=IDS,
    args=ARGS,
    deps=st.lists(IDS, max_size=3).map(tuple),
    priority=st.sampled_from(Priority),
    actor=st.builds(Actor, IDS, IDS),
)


def sample() -> Mutation:
    """A check-in made at edge1 by staff-1."""
    return make_mutation(
        id="m-1",
        origin="edge1",
        seq=42,
        hlc="001764547200000-000000-edge1",
        name="check_in",
        args={"reservation_id": "res-1", "guests": [{"name": "Sato"}]},
        deps=("m-0",),
        priority=Priority.STAY,
        actor=Actor("staff-1", "tok-1"),
    )


def test_priorities_put_money_first() -> None:
    """Upload lanes run payment, stay, room status, order, log."""
    assert list(Priority) == sorted(Priority)
    assert [p.name for p in Priority] == ["PAYMENT", "STAY", "ROOM_STATUS", "ORDER", "LOG"]
    assert Priority.PAYMENT == 0


def test_body_is_every_field_but_the_checksum_as_plain_json() -> None:
    """The body lists deps as a list, priority as an int, and the actor as an object."""
    assert sample().body() == {
        "id": "m-1",
        "origin": "edge1",
        "seq": 42,
        "hlc": "001764547200000-000000-edge1",
        "name": "check_in",
        "args": {"reservation_id": "res-1", "guests": [{"name": "Sato"}]},
        "deps": ["m-0"],
        "priority": 1,
        "actor": {"staff_id": "staff-1", "token_id": "tok-1"},
    }


def test_seal_is_zlib_crc32_of_the_canonical_body() -> None:
    """The checksum is the CRC32 of the canonical bytes of the body."""
    m = sample()
    assert m.crc32 == zlib.crc32(encode(m.body()))
    assert type(m.body()["priority"]) is int


def test_sealed_mutation_checks_out() -> None:
    """A freshly made mutation passes its own check."""
    assert sample().checksum_ok()


def test_unsealed_mutation_fails_the_check() -> None:
    """A mutation built by hand with a zero checksum is refused."""
    m = sample()
    draft = Mutation(m.id, m.origin, m.seq, m.hlc, m.name, m.args, m.deps, m.priority, m.actor, 0)
    assert not draft.checksum_ok()


def test_args_changed_in_place_are_noticed() -> None:
    """The args dict is mutable; editing it after sealing breaks the checksum."""
    m = sample()
    m.args["reservation_id"] = "res-2"
    assert not m.checksum_ok()


@given(MUTATIONS)
def test_any_sealed_mutation_checks_out(m: Mutation) -> None:
    """Whatever the fields, the seal matches them."""
    assert m.checksum_ok()


def changed(m: Mutation, field: str, data: st.DataObject) -> object:
    """A value for ``field`` that differs from the mutation's in its canonical encoding."""
    current = getattr(m, field)
    if field == "priority":
        return data.draw(st.sampled_from([p for p in Priority if p != current]))
    if field == "actor":
        return data.draw(st.builds(Actor, IDS, IDS).filter(lambda a: a != current))
    if field == "args":
        return data.draw(ARGS.filter(lambda a: a != current))
    if field == "deps":
        return data.draw(st.lists(IDS, max_size=3).map(tuple).filter(lambda d: d != current))
    if field in ("seq", "crc32"):
        return data.draw(st.integers(0, 2**32 - 1).filter(lambda n: n != current))
    return data.draw(IDS.filter(lambda s: s != current))


@given(MUTATIONS, st.sampled_from([f.name for f in dataclasses.fields(Mutation)]), st.data())
def test_any_changed_field_fails_the_check(m: Mutation, field: str, data: st.DataObject) -> None:
    """Changing any one field, checksum included, after sealing is noticed."""
    damaged = dataclasses.replace(m, **{field: changed(m, field, data)})
    assert not damaged.checksum_ok()


@pytest.mark.parametrize("field", ["staff_id", "token_id"])
def test_changed_actor_part_fails_the_check(field: str) -> None:
    """Who made the change is covered too: a swapped token is noticed."""
    m = sample()
    damaged = dataclasses.replace(m, actor=dataclasses.replace(m.actor, **{field: "other"}))
    assert not damaged.checksum_ok()
