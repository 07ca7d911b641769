"""The ``clarion`` command line."""

from clarion.cli.app import main
from clarion.cli.base import app

__all__ = ["app", "main"]
