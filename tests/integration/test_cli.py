"""The `yadori` command in process: settings errors, migrate, seed-demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from yadori.cli.main import app
from yadori.config import Role, Settings
from yadori.storage.migrate import head_revision

runner = CliRunner()


def test_invalid_setting_is_named_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bad environment value stops the command with the variable's name."""
    monkeypatch.setenv("YADORI_SQLITE_SYNCHRONOUS", "OFF")
    result = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "YADORI_SQLITE_SYNCHRONOUS" in result.output


def test_migrate_then_seed_demo_then_refuse_a_second_seed(tmp_path: Path) -> None:
    """migrate brings a new file to head; seed-demo makes the hotel once and refuses twice."""
    db = f"sqlite:///{tmp_path / 'edge.db'}"
    migrated = runner.invoke(app, ["migrate", "--db", db])
    assert migrated.exit_code == 0, migrated.output
    assert f"revision {head_revision()}" in migrated.output
    seeded = runner.invoke(app, ["seed-demo", "--db", db, "--today", "2026-12-01"])
    assert seeded.exit_code == 0, seeded.output
    assert "seeded TKY1: 40 rooms" in seeded.output
    assert "business date 2026-12-01" in seeded.output
    again = runner.invoke(app, ["seed-demo", "--db", db, "--today", "2026-12-01"])
    assert again.exit_code == 1
    assert "cannot seed" in again.output


def test_seed_demo_refuses_a_bad_date(tmp_path: Path) -> None:
    """--today must be an ISO date."""
    result = runner.invoke(
        app, ["seed-demo", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--today", "1/12"]
    )
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_settings_defaults_and_validation(tmp_path: Path) -> None:
    """The database defaults to a SQLite file named after the node; bad URLs are refused."""
    settings = Settings(role=Role.EDGE, node_id="tky1", data_dir=tmp_path)
    assert settings.database_url() == f"sqlite:///{(tmp_path / 'tky1.db').resolve()}"
    assert Settings(db_url="postgresql://x/y").database_url() == "postgresql://x/y"
    with pytest.raises(ValueError, match="sqlite:///"):
        Settings(db_url="mysql://x/y")
    with pytest.raises(ValueError, match="FULL"):
        Settings(sqlite_synchronous="OFF")
    assert Settings(sqlite_synchronous="normal").sqlite_synchronous == "NORMAL"


def test_release_brake_names_what_it_cannot_release(tmp_path: Path) -> None:
    """`yadori edge release-brake` on a data directory without the edge's database says which
    file it looked for (and creates none); on an edge that syncs with no central, that there is
    no queue to release. The release itself is tested with a held queue in test_sync_http.py."""
    command = ["edge", "--data-dir", str(tmp_path), "--node-id", "e9", "release-brake"]
    missing = runner.invoke(app, command)
    assert missing.exit_code == 2
    assert "no edge database at" in " ".join(missing.output.split())
    assert not (tmp_path / "e9.db").exists()
    migrated = runner.invoke(app, ["migrate", "--db", f"sqlite:///{tmp_path / 'e9.db'}"])
    assert migrated.exit_code == 0, migrated.output
    alone = runner.invoke(app, command)
    assert alone.exit_code == 1
    assert "it has no sync queue to release" in " ".join(alone.output.split())
