"""A process that runs front-desk commands against an edge's SQLite file until it is killed.

Started by test_sigkill_atomicity.py with the database URL and the test hotel's ids; it prints
"ready" once it is about to start writing, then never stops by itself.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from datetime import date, timedelta

from yadori.bootstrap import NodeConfig, bootstrap
from yadori.domain.errors import DomainError
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.sync.mutation import Actor


def main() -> None:
    """Run commands forever: bookings, charges, payments and housekeeping, in random order."""
    db_url, ids_json, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ids = json.loads(ids_json)
    rng = random.Random(seed)
    node = bootstrap(NodeConfig("edge", "edge1", "E1", db_url))
    bus, pid, actor = node.bus, ids["property_id"], Actor("crash", "crash")
    folios: list[str] = []
    print("ready", flush=True)
    for n in itertools.count():
        choice = rng.random()
        try:
            if choice < 0.3 or not folios:
                folio_id = new_id()
                arrival = ids["today"]
                bus.execute(
                    pid,
                    c.CreateReservation(
                        reservation_id=new_id(),
                        folio_id=folio_id,
                        guest_name=f"Guest {seed}-{n}",
                        arrival=date.fromisoformat(arrival) + timedelta(days=n % 300),
                        departure=date.fromisoformat(arrival) + timedelta(days=n % 300 + 1),
                        adults=1,
                        room_type_id=ids["room_type_id"],
                        rate_plan_id=ids["rate_plan_id"],
                    ),
                    actor,
                )
                folios.append(folio_id)
            elif choice < 0.6:
                bus.execute(
                    pid,
                    c.PostCharge(
                        folio_id=rng.choice(folios),
                        line_id=new_id(),
                        category="minibar",
                        description="water",
                        amount=rng.randint(100, 900),
                    ),
                    actor,
                )
            elif choice < 0.8:
                bus.execute(
                    pid,
                    c.PostPayment(
                        folio_id=rng.choice(folios),
                        line_id=new_id(),
                        method="cash",
                        amount=rng.randint(100, 900),
                    ),
                    actor,
                )
            else:
                condition = rng.choice([Condition.DIRTY, Condition.CLEAN])
                bus.execute(
                    pid,
                    c.SetRoomCondition(room_id=rng.choice(ids["rooms"]), condition=condition),
                    actor,
                )
        except DomainError:
            continue  # e.g. a sold-out night: refused, nothing written


if __name__ == "__main__":
    main()
