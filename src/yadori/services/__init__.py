"""Use cases: one handler per command, ports as Protocols, and the message bus that runs them."""
