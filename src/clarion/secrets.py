"""Secrets at rest (channel tokens, webhook URLs): Fernet, with key rotation.

The key comes from ``CLARION_SECRET_KEY`` (comma-separated Fernet keys, newest first, so an
operator can rotate: add a new key in front, and old values still decrypt), or is generated
once into the data dir. Replicas sharing a database must share the key.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE = "secret.key"


class SecretsError(RuntimeError):
    pass


def load_keys(secret_key: str | None, data_dir: Path) -> MultiFernet:
    if secret_key:
        keys = [k.strip() for k in secret_key.split(",") if k.strip()]
    else:
        path = data_dir / KEY_FILE
        if not path.exists():
            _create_key_file(path)
        keys = [path.read_text().strip()]
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise SecretsError(
            "CLARION_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated; "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def _create_key_file(path: Path) -> None:
    """Write a new key so that a process starting alongside sees all of it or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode() + "\n")
        os.link(temp, path)  # atomic, and fails if another process made the key first
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)


class SecretBox:
    def __init__(self, keys: MultiFernet):
        self.keys = keys

    def seal_for(self, purpose: str, data: dict[str, Any], *, issued_at: int | None = None) -> str:
        """A token carrying ``data`` (encrypted and signed) that only :meth:`open_for` with
        the same ``purpose`` opens, so one kind of token (a session cookie, an email link)
        cannot be replayed as another. ``issued_at``: Unix time to date it (else now)."""
        body = json.dumps({**data, "p": purpose}).encode()  # the purpose is never data's
        if issued_at is None:
            return self.keys.encrypt(body).decode()
        return self.keys.encrypt_at_time(body, issued_at).decode()

    def open_for(
        self, purpose: str, token: str, *, max_age: int | None = None
    ) -> dict[str, Any] | None:
        """The data :meth:`seal_for` sealed for ``purpose``; None when the token is forged,
        malformed, sealed for another purpose, or older than ``max_age`` seconds."""
        try:
            body = json.loads(self.keys.decrypt(token.encode(), ttl=max_age))
        except (InvalidToken, ValueError, TypeError):
            return None
        if not isinstance(body, dict) or body.get("p") != purpose:
            return None
        return {k: v for k, v in body.items() if k != "p"}

    def issued_at(self, token: str) -> int:
        """When a token was sealed (Unix time); only for one :meth:`open_for` accepted."""
        return self.keys.extract_timestamp(token.encode())

    def seal(self, values: dict[str, Any]) -> str:
        return self.keys.encrypt(json.dumps(values).encode()).decode()

    def reseal(self, token: str) -> str:
        """``token`` sealed again under the newest key (the first of CLARION_SECRET_KEY)."""
        try:
            return self.keys.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretsError(
                "a stored secret does not decrypt with any key of CLARION_SECRET_KEY"
            ) from exc

    def open(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            opened: dict[str, Any] = json.loads(self.keys.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SecretsError(
                "a stored secret does not decrypt with CLARION_SECRET_KEY: "
                "was the key changed without keeping the old one?"
            ) from exc
        return opened
