"""Run the `yadori` command as ``python -m yadori.cli``."""

from yadori.cli.main import app

app(prog_name="yadori")
