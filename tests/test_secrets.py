"""Tokens sealed for a purpose open only for that purpose, within their age."""

from __future__ import annotations

import time

from cryptography.fernet import Fernet, MultiFernet

from clarion.secrets import SecretBox


def _box() -> SecretBox:
    return SecretBox(MultiFernet([Fernet(Fernet.generate_key())]))


def test_a_token_opens_for_its_own_purpose_only() -> None:
    box = _box()
    token = box.seal_for("session", {"k": "tok", "s": "sid"})
    assert box.open_for("session", token) == {"k": "tok", "s": "sid"}
    assert box.open_for("draft", token) is None
    assert box.open_for("session", box.seal({"k": "tok", "s": "sid"})) is None  # at rest
    # The purpose cannot be overridden from the data.
    forged = box.seal_for("draft", {"p": "session", "k": "tok"})
    assert box.open_for("session", forged) is None


def test_a_token_from_another_key_or_mangled_does_not_open() -> None:
    box = _box()
    token = _box().seal_for("session", {"k": "tok"})
    assert box.open_for("session", token) is None
    assert box.open_for("session", "not a token") is None
    assert box.open_for("session", "") is None


def test_max_age_and_issued_at() -> None:
    box = _box()
    old = int(time.time()) - 3600
    token = box.seal_for("settings", {"u": "x"}, issued_at=old)
    assert box.issued_at(token) == old
    assert box.open_for("settings", token) == {"u": "x"}
    assert box.open_for("settings", token, max_age=3700) == {"u": "x"}
    assert box.open_for("settings", token, max_age=60) is None
