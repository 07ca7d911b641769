"""What every ``clarion`` command shares: the Typer apps, the consoles, the API call and
the output (a Rich table, or JSON with ``--json``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from clarion.cli.client import ApiClient, ApiError

app = typer.Typer(help="clarion: a self-hosted notification service.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
messages_app = typer.Typer(help="Troubleshoot from the message log.", no_args_is_help=True)
notifications_app = typer.Typer(help="Pause, resume and test delivery.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
event_types_app = typer.Typer(help="The event type catalog.", no_args_is_help=True)
channels_app = typer.Typer(help="Team channels (Slack, Discord, …).", no_args_is_help=True)
secrets_app = typer.Typer(help="Secrets stored in the database.", no_args_is_help=True)
for sub, name in (
    (users_app, "users"),
    (tokens_app, "tokens"),
    (messages_app, "messages"),
    (notifications_app, "notifications"),
    (db_app, "db"),
    (event_types_app, "event-types"),
    (channels_app, "channels"),
    (secrets_app, "secrets"),
):
    app.add_typer(sub, name=name)

console = Console()
err = Console(stderr=True)
State: dict[str, Any] = {"json": False}


@app.callback()
def _global(
    url: Annotated[
        str, typer.Option(envvar="CLARION_URL", help="the server's URL")
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str | None, typer.Option(envvar="CLARION_TOKEN", help="API token", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print raw JSON")] = False,
) -> None:
    State.update(url=url, token=token, json=as_json)


def api(method: str, path: str, **kwargs: Any) -> Any:
    token = State.get("token")
    if not token:
        import os

        token = os.environ.get("CLARION_ADMIN_TOKEN")
    client = ApiClient(State["url"], token)
    try:
        return client.request(method, path, **kwargs)
    except ApiError as exc:
        err.print(
            f"[red]error:[/red] {exc.detail}" if exc.status == 0 else f"[red]error:[/red] {exc}"
        )
        raise typer.Exit(1) from None


def show(data: Any, columns: list[str] | None = None, title: str | None = None) -> None:
    if State["json"] or columns is None:
        console.print_json(json.dumps(data))
        return
    rows = data if isinstance(data, list) else [data]
    table = Table(title=title)
    for column in columns:
        # Fold rather than cut: ids and reasons must stay whole to be copied.
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
    console.print(table)


def key_values(pairs: list[str], option: str) -> dict[str, str]:
    """``key=value`` options (``--label``, ``--config``) as a dict; exit 2 on a bad one."""
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            err.print(f"[red]error:[/red] {option} {pair!r} must be key=value")
            raise typer.Exit(2)
        found[key] = value
    return found
