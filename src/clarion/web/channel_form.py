"""A channel kind's config as an HTML form, built from the kind's pydantic schema, and the
posted form back into a config for :func:`clarion.channels.registry.validate_config`.

Secret fields are password inputs that never carry a value back to the page. Left empty,
a secret keeps what it had: the stored value when editing, or the value typed before a
Test Connection of a new channel, carried across in a sealed ("draft") hidden field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from clarion.channels.registry import ChannelKind
from clarion.secrets import SecretBox

DRAFT = "draft"
DRAFT_SECONDS = 3600
_WORDS = {"url": "URL", "api": "API", "id": "ID", "smtp": "SMTP"}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    # text, password (a secret string), number, checkbox, select, lines (a list of
    # strings), pairs (a mapping of strings, one "Name: value" a line)
    widget: str
    required: bool
    secret: bool = False
    default: Any = None
    options: tuple[str, ...] = ()
    step: str = "1"
    max_length: int | None = None

    @property
    def input_name(self) -> str:
        return f"config.{self.name}"


def _label(name: str) -> str:
    words = [_WORDS.get(w, w) for w in name.split("_")]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def _widget(prop: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    shape = options[0] if options else {}
    if "enum" in prop:
        return "select", {"options": tuple(str(v) for v in prop["enum"])}
    kind = shape.get("type")
    if kind == "boolean":
        return "checkbox", {}
    if kind in ("integer", "number"):
        return "number", {"step": "1" if kind == "integer" else "any"}
    if kind == "array":
        return "lines", {}
    if kind == "object":
        return "pairs", {}
    return "text", {"max_length": shape.get("maxLength", prop.get("maxLength"))}


def fields_of(kind: ChannelKind) -> list[FormField]:
    schema = kind.config_model.model_json_schema()
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        widget, extra = _widget(prop)
        secret = name in kind.secret_fields
        if secret and widget == "text":
            widget, extra = "password", {}
        fields.append(
            FormField(
                name,
                _label(name),
                widget,
                name in required,
                secret,
                prop.get("default"),
                **extra,
            )
        )
    return fields


def shown_value(field: FormField, config: dict[str, Any]) -> Any:
    """What the form shows in a field: never a secret."""
    if field.secret:
        return ""
    value = config.get(field.name, field.default)
    if field.widget == "lines":
        return "\n".join(str(v) for v in value or [])
    if field.widget == "pairs":
        return "\n".join(f"{k}: {v}" for k, v in (value or {}).items())
    if field.widget == "checkbox":
        return bool(value)
    return "" if value is None else value


def config_from_form(
    fields: list[FormField], form: dict[str, list[str]]
) -> tuple[dict[str, Any], list[str]]:
    """The config the form describes (empty fields left out, so defaults apply; a secret
    ticked for removal as None) and the problems found before validation (a header line
    without a colon)."""
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for field in fields:
        values = form.get(field.input_name, [])
        text = values[0].strip() if values else ""
        if field.secret and form.get(f"{field.input_name}.clear"):
            raw[field.name] = None  # "remove the stored value"
        elif field.widget == "checkbox":
            raw[field.name] = bool(values)
        elif field.widget == "lines":
            items = [line.strip() for line in re.split(r"[\n,]", text) if line.strip()]
            if items:
                raw[field.name] = items
        elif field.widget == "pairs":
            pairs: dict[str, str] = {}
            lines = [line.strip() for line in text.splitlines()]
            for number, line in enumerate(lines, 1):
                if not line:
                    continue
                key, colon, value = line.partition(":")
                if not colon or not key.strip():
                    # A secret's text is never shown back, even when it is wrong.
                    shown = f"line {number}" if field.secret else repr(line)
                    problems.append(f"config.{field.name}: {shown} is not 'Name: value'")
                    continue
                pairs[key.strip()] = value.strip()
            if pairs:
                raw[field.name] = pairs
        elif text:
            raw[field.name] = text
    return raw, problems


def seal_draft(box: SecretBox, secrets: dict[str, Any], scope: str) -> str:
    """``scope``: the form the secrets were typed into (a new channel of a kind, or one
    channel), so a draft cannot be carried into another form."""
    if not secrets:
        return ""
    return box.seal_for(DRAFT, {"c": scope, "s": secrets})


def open_draft(box: SecretBox, sealed: str, scope: str) -> dict[str, Any]:
    """The secrets a draft carries; nothing if it is missing, forged, over an hour old or
    made in another form."""
    if not sealed:
        return {}
    body = box.open_for(DRAFT, sealed, max_age=DRAFT_SECONDS)
    if body is None or body.get("c") != scope:
        return {}
    secrets = body.get("s")
    return dict(secrets) if isinstance(secrets, dict) else {}
