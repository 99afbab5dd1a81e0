"""Routers, one module per kind of resource."""
