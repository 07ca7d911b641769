"""The kinds' declarations and the one rule for updating a saved channel's config."""

from __future__ import annotations

import re

import pytest

from clarion.channels.registry import ChannelConfigError, kinds, updated_config, validate_config

NTFY = {"server_url": "https://ntfy.example.com", "topic": "ops", "priority": 3}
EMAIL = {
    "smtp_server": "mail.example.com",
    "smtp_port": 587,
    "security": "auto",
    "username": "mailer",
    "from_address": "Ops <ops@example.com>",
    "to_addresses": ["team@example.com"],
    "skip_verify": False,
}


def test_every_kind_with_secrets_names_where_they_go() -> None:
    for spec in kinds().values():
        if spec.secret_fields:
            assert spec.destination_fields, spec.kind
        assert spec.destination_fields <= set(spec.config_model.model_fields), spec.kind


def test_a_secret_left_out_is_kept_while_the_destination_stays() -> None:
    public, secret = updated_config(
        "ntfy", NTFY, {"access_token": "tk_old"}, {**NTFY, "topic": "other", "priority": 5}
    )
    assert secret == {"access_token": "tk_old"} and public["topic"] == "other"


@pytest.mark.parametrize(
    ("kind", "stored", "secrets", "given", "named"),
    [
        (
            "ntfy",
            NTFY,
            {"access_token": "tk"},
            {**NTFY, "server_url": "https://x.example"},
            "access_token",
        ),
        # Left out, a destination falls back to its default: that moves it too.
        ("ntfy", NTFY, {"access_token": "tk"}, {"topic": "ops"}, "access_token"),
        (
            "email",
            EMAIL,
            {"password": "pw"},
            {**EMAIL, "smtp_server": "mx.example.net"},
            "password",
        ),
        ("email", EMAIL, {"password": "pw"}, {**EMAIL, "smtp_port": "2525"}, "password"),
        ("email", EMAIL, {"password": "pw"}, {**EMAIL, "security": "none"}, "password"),
        ("email", EMAIL, {"password": "pw"}, {**EMAIL, "skip_verify": True}, "password"),
        # The URL is a secret and given anew: the other secret does not follow it.
        (
            "lark",
            {"max_per_second": 5.0},
            {"webhook_url": "https://open.larksuite.com/h/1", "secret": "sign"},
            {"webhook_url": "https://lark.example/h/2"},
            "secret",
        ),
    ],
)
def test_moving_the_destination_needs_the_stored_secrets_again(
    kind: str, stored: dict, secrets: dict, given: dict, named: str
) -> None:
    with pytest.raises(
        ChannelConfigError, match=re.escape(f"config.{named}: give it again")
    ) as refused:
        updated_config(kind, stored, secrets, given)
    for value in secrets.values():
        assert value not in str(refused.value)
    # Given again (or removed), the move is accepted.
    _, secret = updated_config(kind, stored, secrets, {**given, named: "new-secret"})
    assert secret[named] == "new-secret"


def test_removing_a_secret_while_moving_is_allowed() -> None:
    public, secret = updated_config(
        "ntfy",
        NTFY,
        {"access_token": "tk"},
        {**NTFY, "server_url": "https://x.example", "access_token": None},
    )
    assert secret == {} and public["server_url"] == "https://x.example"


def test_a_stored_config_no_longer_valid_counts_as_moved() -> None:
    with pytest.raises(ChannelConfigError, match=re.escape("config.app_token")):
        updated_config(
            "gotify",
            {"server_url": "not a url"},
            {"app_token": "t"},
            {"server_url": "https://g.example"},
        )


def _url_fields() -> list[tuple[str, str]]:
    """(kind, field) for each provider URL a kind's config holds (not Apprise's own URLs)."""
    return [
        (kind, name)
        for kind, spec in sorted(kinds().items())
        for name, info in spec.config_model.model_fields.items()
        if info.annotation is str and name.endswith(("url", "endpoint")) and kind != "apprise"
    ]


def test_every_provider_url_field_is_a_destination() -> None:
    fields = _url_fields()
    assert len(fields) >= 12
    for kind, name in fields:
        assert name in kinds()[kind].destination_fields, (kind, name)


@pytest.mark.parametrize(("kind", "name"), _url_fields())
@pytest.mark.parametrize("bad", ["ftp://files.example/x", "hooks.example/x", "https:///x"])
def test_every_provider_url_field_refuses_what_is_not_http(kind: str, name: str, bad: str) -> None:
    with pytest.raises(
        ChannelConfigError, match=rf"(^|; )config\.{name}: [^;]*not an http\(s\) URL"
    ):
        validate_config(kind, {name: bad})
