"""Team channels: one module per kind (its config model, payload and sender), listed in
:mod:`clarion.channels.registry`. Per-user delivery methods are :mod:`clarion.methods`."""
