"""The ``clarion`` command line."""

from clarion.cli.app import app, main

__all__ = ["app", "main"]
