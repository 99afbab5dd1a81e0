"""The HTTP API (FastAPI): the same routes and handlers behind `yadori edge` and `central`."""
