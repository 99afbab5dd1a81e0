"""Test support: builders of hotels and commands shared by the suites."""
