"""``clarion channels``: list, add, test and remove team channels through the API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from clarion.cli.base import State, api, channels_app, console, err, key_values, show

CHANNEL_COLUMNS = ["id", "name", "kind", "events", "enabled"]


@channels_app.command("list")
def channels_list() -> None:
    """Team channels; secrets show only as set / not set."""
    show(api("GET", "/api/v1/channels")["items"], CHANNEL_COLUMNS)


@channels_app.command("kinds")
def channels_kinds() -> None:
    """The channel kinds and their config fields."""
    items = api("GET", "/api/v1/channels/kinds")["items"]
    for item in items:
        item["fields"] = ", ".join(item["config_schema"].get("properties", {}))
    show(items, ["kind", "title", "fields", "secret_fields"])


def _config(pairs: list[str], config_json: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if config_json:
        try:
            config.update(json.loads(config_json))
        except json.JSONDecodeError as exc:
            err.print(f"[red]error:[/red] --config-json is not JSON: {exc}")
            raise typer.Exit(2) from None
    config.update(key_values(pairs, "--config"))
    return config


@channels_app.command("add")
def channels_add(
    name: str,
    kind: Annotated[str, typer.Argument(help="slack, discord, telegram, webhook, …")],
    config: Annotated[
        list[str] | None, typer.Option("--config", help="key=value, repeatable")
    ] = None,
    config_json: Annotated[str | None, typer.Option(help="the config as a JSON object")] = None,
    event: Annotated[list[str] | None, typer.Option(help="event type key, repeatable")] = None,
    disabled: Annotated[bool, typer.Option(help="create it switched off")] = False,
) -> None:
    """Add a team channel (try it first with `clarion channels test`)."""
    body = {
        "name": name,
        "kind": kind,
        "config": _config(config or [], config_json),
        "events": event or [],
        "enabled": not disabled,
    }
    show(api("POST", "/api/v1/channels", json=body), CHANNEL_COLUMNS)


@channels_app.command("test")
def channels_test(
    channel: Annotated[str | None, typer.Argument(help="a saved channel's id")] = None,
    kind: Annotated[str | None, typer.Option(help="test an unsaved config of this kind")] = None,
    config: Annotated[list[str] | None, typer.Option("--config", help="key=value")] = None,
    config_json: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Send a test message now and print the provider's answer (exit 1 if it failed)."""
    if channel:
        result = api("POST", f"/api/v1/channels/{channel}/test")
    elif kind:
        body = {"kind": kind, "config": _config(config or [], config_json)}
        result = api("POST", "/api/v1/channels/test", json=body)
    else:
        err.print("[red]error:[/red] give a channel id, or --kind with --config")
        raise typer.Exit(2)
    if State["json"]:
        show(result)
    else:
        console.print(
            ("[green]ok[/green]: " if result["ok"] else "[red]failed[/red]: ") + result["detail"]
        )
    if not result["ok"]:
        raise typer.Exit(1)


@channels_app.command("remove")
def channels_remove(channel: str) -> None:
    """Delete a team channel (its queued messages fail with a reason)."""
    api("DELETE", f"/api/v1/channels/{channel}")
    console.print(f"removed {channel}")
