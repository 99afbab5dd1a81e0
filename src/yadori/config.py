"""Settings, read from ``YADORI_*`` environment variables, built only in entrypoints.

Validated fail-fast: a wrong value stops the process at start with a message that names it.
Components never read this object; the composition root hands them small frozen configs.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Role(StrEnum):
    """Which kind of node this process is."""

    EDGE = "edge"
    CENTRAL = "central"


class Settings(BaseSettings):
    """Every setting of a Yadori node. The README's table lists them all."""

    model_config = SettingsConfigDict(env_prefix="YADORI_", extra="ignore", frozen=True)

    role: Role = Role.EDGE
    node_id: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.]+$")] = (
        "edge1"
    )
    node_prefix: Annotated[str, Field(min_length=1, max_length=8, pattern=r"^[A-Z0-9]+$")] = "E1"
    db_url: str = ""
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8600
    sqlite_synchronous: str = "FULL"
    log_level: str = "INFO"
    central_url: str = ""
    property_ids: str = ""  # comma-separated: what a new edge pulls from central
    heartbeat_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    backoff_cap_seconds: Annotated[float, Field(gt=0, le=300)] = 1.5
    sync_backoff_cap_seconds: Annotated[float, Field(gt=0, le=3_600)] = 30.0
    heartbeat_allowance_seconds: Annotated[float, Field(gt=0, le=30)] = 0.4
    heightened_seconds: Annotated[float, Field(ge=0, le=86_400)] = 60.0
    outage_alert_seconds: Annotated[float, Field(gt=0)] = 3_600.0
    queue_alert_depth: Annotated[int, Field(gt=0)] = 10_000
    max_skew_ms: Annotated[int, Field(gt=0)] = 5_000
    hlc_max_ahead_seconds: Annotated[float, Field(ge=60, le=7 * 86_400)] = 3_600.0
    sync_batch_size: Annotated[int, Field(ge=1, le=5_000)] = 1_000
    key_dir: Path | None = None  # default <data dir>/keys/<node id>: node key and PIN pepper
    offline_token_hours: Annotated[float, Field(gt=0, le=24)] = 8.0
    online_token_hours: Annotated[float, Field(gt=0, le=24)] = 12.0
    lockout_failures: Annotated[int, Field(ge=1, le=100)] = 5
    lockout_minutes: Annotated[float, Field(gt=0, le=1_440)] = 15.0

    @field_validator("sqlite_synchronous")
    @classmethod
    def _synchronous(cls, value: str) -> str:
        if value.upper() not in {"FULL", "EXTRA", "NORMAL"}:
            raise ValueError("must be FULL, EXTRA or NORMAL (FULL loses nothing on power cut)")
        return value.upper()

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:///", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    def keys_path(self) -> Path:
        """Where this node keeps its private key and the PIN pepper (outside the database)."""
        return (self.key_dir or self.data_dir / "keys" / self.node_id).resolve()

    def database_url(self) -> str:
        """The database URL: the one set, or a SQLite file in the data directory."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / f'{self.node_id}.db').resolve()}"
