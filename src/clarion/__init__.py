"""clarion: a self-hosted notification service."""

__version__ = "0.1.0"
