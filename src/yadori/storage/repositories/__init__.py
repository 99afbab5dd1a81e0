"""Repositories: domain objects in and out of the tables, one module per aggregate."""
