"""Team channels: one module per kind (its config model, payload and sender), listed in
:mod:`clarion.channels.registry`. Per-user delivery methods are :mod:`clarion.methods`."""

# A team channel's message is stored with the method "channel:<kind>".
METHOD_PREFIX = "channel:"


def method_of(kind: str) -> str:
    """The stored method of a message to a channel of ``kind``."""
    return METHOD_PREFIX + kind
