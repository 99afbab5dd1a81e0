"""Command handlers, one function per command, grouped by what they work on."""
