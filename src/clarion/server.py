"""``clarion server``: the API, the web UI and a dispatcher in one process."""

from __future__ import annotations

import gc

import structlog
import uvicorn
from fastapi import FastAPI

from clarion.app import create_app
from clarion.config import Settings
from clarion.logging import configure_logging
from clarion.service import Service
from clarion.store.db import printable_url


def run_server(settings: Settings) -> None:
    configure_logging(settings.log_format, settings.log_level)
    log_setting_names(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = server_config(create_app(Service(settings)), settings)
    server = uvicorn.Server(config)
    url = settings.resolved_access_url
    print(f"clarion listening on http://{settings.http_address} (links use {url})", flush=True)
    print(f"  database: {printable_url(settings.resolved_database_url)}", flush=True)
    if settings.admin_token is not None:
        print("  API token: the value of CLARION_ADMIN_TOKEN (owner rights)", flush=True)
    else:
        print("  API token: set CLARION_ADMIN_TOKEN to bootstrap an owner token", flush=True)
    tune_gc()
    server.run()


def log_setting_names(settings: Settings) -> None:
    """Say which settings were read under Coder's names, and which variables were not read."""
    log = structlog.get_logger("clarion.config")
    for given, clarion in settings.notes.aliases:
        log.info("setting read under another name", given=given, read_as=clarion)
    for given, closest in settings.notes.unknown:
        log.warning("unknown setting ignored", variable=given, closest_setting=closest)


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        log_config=None,  # uvicorn's own lines go through clarion's logging (JSON when set)
        loop="uvloop" if _has_uvloop() else "asyncio",
        lifespan="on",
        # Open inbox streams must not hold a stop forever: they are cut after this, and
        # the dispatcher then drains.
        timeout_graceful_shutdown=5,
        # X-Forwarded-For and -Proto are believed from these peers only: they decide the
        # client address (sign-in limits) and whether the cookie is marked Secure. Anyone
        # else could claim any address or https.
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
    )


def tune_gc() -> None:
    """Collect cyclic garbage less often, and never rescan what startup built.

    Every message allocates hundreds of short-lived objects, so with the default thresholds
    the collector runs very often, and each full collection walks every module, SQLAlchemy
    table and route. Young objects are collected every 50,000 net allocations (a few MB),
    and the objects alive at startup move to the permanent generation, never rescanned.
    """
    gc.set_threshold(50_000, 20, 20)
    gc.freeze()


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True
