"""Every built-in event type rendered in each flavour, kept as golden files.

A change to a template, the Markdown conversion or a channel's payload shows up here as a
diff to review. After a deliberate change, write the files again with
``CLARION_UPDATE_GOLDEN=1 pytest tests/render/test_golden.py`` and commit them.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from clarion.channels.discord import discord_payload
from clarion.channels.slack import slack_payload
from clarion.channels.telegram import TelegramConfig, telegram_payload
from clarion.delivery.outcome import Outbound, Recipient
from clarion.intake.catalog import BUILTIN_EVENT_TYPES, EventTypeSpec
from clarion.render import RenderContext, Rendered, render_event

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CLARION_UPDATE_GOLDEN") == "1"
ANN = Recipient(
    user_id="7d0e5b1a-2f3c-4d6e-8a9b-0c1d2e3f4a5b",
    email="ann@example.com",
    name="Ann Example",
    username="ann",
)
TEAM = Recipient()  # a team channel: no user, so no greeting


def _render(spec: EventTypeSpec, recipient: Recipient) -> Rendered:
    ctx = RenderContext(
        template_id=str(spec.id),
        template_name=spec.name,
        user_id=recipient.user_id,
        user_email=recipient.email,
        user_name=recipient.name,
        user_username=recipient.username,
        labels=dict(spec.example_labels),
        data=dict(spec.example_data),
        base_url="https://clarion.example.com",
    )
    actions = [{"label": a.label, "url": a.url} for a in spec.actions]
    return render_event(spec.title_template, spec.body_template, actions, ctx)


def _outbound(spec: EventTypeSpec, content: Rendered) -> Outbound:
    return Outbound(
        message_id="0b8f6c1e-4a8d-4f5e-9c2b-3d7a1e6f9b40",
        event_type=spec.key,
        template_id=str(spec.id),
        template_name=spec.name,
        recipient=TEAM,
        content=content,
    )


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def flavours(spec: EventTypeSpec) -> dict[str, str]:
    """The event as each kind of destination sees it, by flavour."""
    mail = _render(spec, ANN)
    team = _outbound(spec, _render(spec, TEAM))
    discord = discord_payload(team)
    for embed in discord["embeds"]:  # the send time: checked here, kept out of the file
        datetime.fromisoformat(embed.pop("timestamp"))
    telegram = telegram_payload(team, TelegramConfig(bot_token="123:abc", chat_id="-100123"))
    return {
        "title": mail.title,
        "actions": "\n".join(f"{a.label} -> {a.url}" for a in mail.actions),
        "text": mail.body_text,
        "html": mail.body_html,
        "slack": _json(slack_payload(team)),
        "discord": _json(discord),
        "telegram": _json(telegram),
    }


def document(spec: EventTypeSpec) -> str:
    parts = [f"# {spec.key}: {spec.name}\n"]
    for flavour, text in flavours(spec).items():
        parts.append(f"\n--- {flavour} ---\n{text}\n")
    return "".join(parts)


@pytest.mark.parametrize("spec", BUILTIN_EVENT_TYPES, ids=lambda s: s.key)
def test_each_built_in_type_renders_as_its_golden_file(spec: EventTypeSpec) -> None:
    path = GOLDEN / f"{spec.key}.txt"
    rendered = document(spec)
    if UPDATE:
        path.write_text(rendered, encoding="utf-8")
        return
    assert path.exists(), f"no golden file for {spec.key}: run with CLARION_UPDATE_GOLDEN=1"
    assert rendered == path.read_text(encoding="utf-8"), (
        f"{path.name} differs from what renders now; if the change is meant, "
        "write it again with CLARION_UPDATE_GOLDEN=1 and review the diff"
    )


def test_every_golden_file_belongs_to_a_built_in_type() -> None:
    kept = {p.stem for p in GOLDEN.glob("*.txt")}
    assert kept == {spec.key for spec in BUILTIN_EVENT_TYPES}
