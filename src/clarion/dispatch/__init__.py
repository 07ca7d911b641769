"""Dispatch: claim due messages in batches, send them through their method or channel, and
record each outcome by the one retry policy."""
