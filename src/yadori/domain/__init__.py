"""Pure business rules of the hotel: no I/O, no framework, standard library only."""
