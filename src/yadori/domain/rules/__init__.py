"""Business rules kept as data files (tax tables with effective dates), read by the domain."""
