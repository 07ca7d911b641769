"""A kind's config form: fields from its schema, the posted form back into a config, and the
sealed draft that carries typed secrets across a Test Connection."""

from __future__ import annotations

from cryptography.fernet import Fernet, MultiFernet

from clarion.channels.registry import kinds
from clarion.secrets import SecretBox
from clarion.web.channel_form import (
    config_from_form,
    fields_of,
    open_draft,
    seal_draft,
    shown_value,
)


def test_fields_follow_the_schema_and_hide_secrets() -> None:
    fields = {f.name: f for f in fields_of(kinds()["email"])}
    assert fields["smtp_server"].widget == "text" and fields["smtp_server"].required
    assert fields["smtp_port"].widget == "number" and fields["smtp_port"].default == 587
    assert fields["security"].widget == "select" and "starttls" in fields["security"].options
    assert fields["to_addresses"].widget == "lines"
    assert fields["skip_verify"].widget == "checkbox"
    assert fields["password"].widget == "password" and fields["password"].secret
    assert fields["smtp_server"].label == "SMTP server"
    assert shown_value(fields["password"], {"password": "hunter2"}) == ""
    assert shown_value(fields["to_addresses"], {"to_addresses": ["a@x.io", "b@x.io"]}) == (
        "a@x.io\nb@x.io"
    )


def test_a_posted_form_becomes_a_config() -> None:
    fields = fields_of(kinds()["email"])
    form = {
        "config.smtp_server": [" mail.example.com "],
        "config.smtp_port": ["465"],
        "config.to_addresses": ["a@x.io\n\nb@x.io, c@x.io"],
        "config.username": [""],
        "config.skip_verify": ["true"],
    }
    raw, problems = config_from_form(fields, form)
    assert problems == []
    assert raw == {
        "smtp_server": "mail.example.com",
        "smtp_port": "465",
        "to_addresses": ["a@x.io", "b@x.io", "c@x.io"],
        "skip_verify": True,
    }


def test_a_malformed_secret_header_is_reported_without_its_text() -> None:
    fields = fields_of(kinds()["webhook"])
    form = {"config.headers": ["X-Ok: 1\nAuthorization Bearer sk-live-123"]}
    raw, problems = config_from_form(fields, form)
    assert problems == ["config.headers: line 2 is not 'Name: value'"]
    assert raw["headers"] == {"X-Ok": "1"}
    cleared, _ = config_from_form(fields, {"config.secret.clear": ["true"]})
    assert cleared["secret"] is None


def test_a_draft_opens_only_in_the_form_it_was_made_in() -> None:
    box = SecretBox(MultiFernet([Fernet(Fernet.generate_key())]))
    sealed = seal_draft(box, {"webhook_url": "https://hooks.example/x"}, "new:slack")
    assert "hooks.example" not in sealed
    assert open_draft(box, sealed, "new:slack") == {"webhook_url": "https://hooks.example/x"}
    assert open_draft(box, sealed, "new:discord") == {}
    assert open_draft(box, sealed, "channel:1") == {}
    assert open_draft(box, sealed[:-4] + "AAAA", "new:slack") == {}
    assert seal_draft(box, {}, "new:slack") == ""
