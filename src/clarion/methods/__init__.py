"""How a person is reached: the per-user delivery methods (``smtp``, ``resend``, ``slack``,
``webhook`` in Coder's format, ``inbox``). Team channels are :mod:`clarion.channels`."""
