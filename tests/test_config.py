"""Settings: names, parsing, and combinations that cannot work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from clarion.config import Settings, parse_duration


def test_durations_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARION_LEASE_PERIOD", "5m")
    monkeypatch.setenv("CLARION_DISPATCH_TIMEOUT", "90s")
    settings = Settings()
    assert settings.lease_period == timedelta(minutes=5)
    assert settings.dispatch_timeout == timedelta(seconds=90)


def test_a_lease_no_longer_than_a_send_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLARION_LEASE_PERIOD", "30s")
    monkeypatch.setenv("CLARION_DISPATCH_TIMEOUT", "30s")
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "CLARION_LEASE_PERIOD" in message and "CLARION_DISPATCH_TIMEOUT" in message


@pytest.mark.parametrize("written", ["9" * 400, "9" * 400 + "d", "99999999999d", 1e300])
def test_a_duration_too_long_to_hold_is_a_bad_value(written: object) -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration(written)
    with pytest.raises(ValidationError, match="retention"):
        Settings(retention=written)
