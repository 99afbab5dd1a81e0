"""Storage: SQLAlchemy Core tables, repositories and the unit of work, for SQLite and PostgreSQL."""
