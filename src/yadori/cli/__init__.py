"""The `yadori` command line (Typer + Rich)."""
