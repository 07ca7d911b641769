"""Keeping secrets out of what clarion writes: log lines, tracebacks and error reasons.

Two tools. :func:`scrub_text` knows no secret values: it hides what looks like one (URL
paths and queries, bearer tokens, ``password=…`` pairs, clarion and provider token shapes)
and is what the log applies to every line. :class:`Scrubber` knows the secrets of one send
(a channel's config, a request's URL and headers) and removes each of them, in the forms a
provider may echo them back in (as sent, percent-encoded, base64), from a reason.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

REDACTED = "[redacted]"

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_SCHEME_WORDS = r"(?:bearer|basic|token)"
_AUTH_VALUE = re.compile(rf"\b({_SCHEME_WORDS})(\s+)[A-Za-z0-9._~+/=:-]{{6,}}", re.IGNORECASE)
_KEY_WORDS = r"authorization|cookie|token|secret|passw(?:or)?d|api[_-]?key|credentials?"
# ``password='…'``, ``"token": "…"``, ``Authorization: …`` in free text (an exception's
# message, a pydantic error's input).
_ASSIGNMENT = re.compile(
    rf"""(?P<key>[\w-]*(?:{_KEY_WORDS})[\w-]*)(?P<sep>['"]?\s*[:=]\s*)"""
    r"""(?!\[redacted\])(?P<value>'[^']*'|"[^"]*"|[^\s,;)}\]]+)""",
    re.IGNORECASE,
)
# Token shapes worth hiding wherever they turn up: clarion's API tokens, Slack tokens,
# Standard Webhooks keys and Telegram bot tokens.
_TOKEN_SHAPES = re.compile(
    r"\b(?:clarion_|xox[abeoprs]-|whsec_)[A-Za-z0-9_+/=-]{6,}|\b\d{6,}:[A-Za-z0-9_-]{30,}"
)
_SECRET_KEY = re.compile(
    r"(?:^|[_-])(?:authorization|cookie|set-cookie|token|secret|password|passwd|"
    r"api[_-]?key|credentials?|signature|sig|session)(?:$|[_-])",
    re.IGNORECASE,
)
# A URL's path segment or query value shorter than this is a word ("hooks", "api"), not
# a credential; longer ones (webhook keys, ids, signatures) are hidden.
_SEGMENT_MIN = 12
# A secret this short would hide ordinary words in every reason.
_VALUE_MIN = 4


def redact_url(url: str) -> str:
    """Scheme, host and port only: webhook URLs carry credentials in their path."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if not parts.hostname:
        return "<invalid URL>"
    return f"{parts.scheme}://{parts.hostname}{port}/…"


def redact_urls(text: str) -> str:
    """Every URL in ``text`` cut to its scheme, host and port."""
    return _URL.sub(lambda m: redact_url(m[0]), text)


# Whatever any of the patterns above needs to match: text without one of these (an id, an
# address, a status, most of a log line's fields) has nothing to scrub, and is passed on
# without running each pattern over it.
_MAYBE_SECRET = re.compile(
    rf"://|bearer|basic|{_KEY_WORDS}|clarion_|xox[abeoprs]-|whsec_|\d{{6,}}:", re.IGNORECASE
)


def scrub_text(text: str) -> str:
    """``text`` without what looks like a secret (see the module's docstring)."""
    if not _MAYBE_SECRET.search(text):
        return text
    text = redact_urls(text)
    text = _AUTH_VALUE.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _ASSIGNMENT.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    return _TOKEN_SHAPES.sub(REDACTED, text)


@functools.lru_cache(maxsize=1024)
def is_secret_key(name: str) -> bool:
    """Whether a field or header called ``name`` holds a secret (``Authorization``,
    ``bot_token``, ``X-Api-Key``, ``password``, …)."""
    return bool(_SECRET_KEY.search(name))


def scrub_value(value: Any) -> Any:
    """A logged value with secret-named keys hidden and secret-looking text scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and is_secret_key(k) else scrub_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)


def _url_parts(value: str) -> Iterable[str]:
    """The credential-bearing parts of a URL: path, query, long segments, password."""
    if "://" not in value:
        return
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return
    if password:
        yield password
    if parts.path.strip("/"):
        yield parts.path
    if parts.query:
        yield parts.query
    for segment in parts.path.split("/"):
        if len(segment) >= _SEGMENT_MIN:
            yield segment
    for _, item in parse_qsl(parts.query):
        if len(item) >= _SEGMENT_MIN:
            yield item


def _forms(secret: str) -> Iterable[str]:
    """How ``secret`` may come back: as is, percent-encoded, base64 (SMTP AUTH)."""
    yield secret
    yield quote(secret, safe="")
    yield quote(secret)
    yield quote_plus(secret)
    yield base64.b64encode(secret.encode()).decode()


class Scrubber:
    """Removes given secrets (strings, or mappings and lists of them) from text."""

    def __init__(self, *secrets: Any):
        found: set[str] = set()
        for text in (s for value in secrets for s in _strings(value)):
            # A URL's parts, not the whole of it: its scheme and host stay readable (and
            # the host alone, as in a redacted URL, is no secret).
            parts = list(_url_parts(text)) if "://" in text else [text]
            for part in parts:
                found.update(f for f in _forms(part) if len(f) >= _VALUE_MIN)
        # The longest first: a whole URL goes before its path, a path before a segment.
        self._secrets = sorted(found, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
