"""Signed links: each opens only what it was made for, and settings links age out."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

from cryptography.fernet import Fernet, MultiFernet

from clarion.links import SETTINGS_LINK_SECONDS, SignedLinks
from clarion.secrets import SecretBox

USER = str(uuid.uuid4())


def _links(*keys: bytes) -> SignedLinks:
    box = SecretBox(MultiFernet([Fernet(k) for k in keys or (Fernet.generate_key(),)]))
    return SignedLinks(box, "https://notify.example.com/")


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_settings_link_opens_its_users_settings() -> None:
    links = _links()
    url = links.settings_url(USER)
    assert url.startswith("https://notify.example.com/settings/notifications?token=")
    grant = links.read_settings(_token(url))
    assert grant is not None and str(grant.user_id) == USER and not grant.expired
    assert links.settings_url(None) == "https://notify.example.com/settings/notifications"


def test_a_link_is_not_accepted_for_another_purpose() -> None:
    links = _links()
    unsubscribe = links.unsubscribe_token(USER, "workspace_deleted")
    settings = links.settings_token(USER)
    assert links.read_settings(unsubscribe) is None
    assert links.read_unsubscribe(settings) is None
    opt_out = links.read_unsubscribe(unsubscribe)
    assert opt_out is not None and opt_out.event_type == "workspace_deleted"
    # Any other sealed value (a channel's secrets, say) is neither.
    secret = links.box.seal({"u": USER, "t": "x"})
    assert links.read_settings(secret) is None and links.read_unsubscribe(secret) is None


def test_forged_cut_and_foreign_tokens_are_refused() -> None:
    links = _links()
    token = links.settings_token(USER)
    assert links.read_settings(token[:-6]) is None
    assert links.read_settings(token[:-4] + "AAAA") is None
    assert links.read_settings("") is None and links.read_settings("not a token") is None
    assert _links().read_settings(token) is None  # another installation's key
    body = json.dumps({"p": "settings", "u": "not-a-uuid"}).encode()
    assert links.read_settings(links.box.keys.encrypt(body).decode()) is None


def test_settings_links_expire_and_survive_key_rotation() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    before = _links(old)
    body = json.dumps({"p": "settings", "u": USER}).encode()
    stale = before.box.keys.encrypt_at_time(body, int(time.time()) - SETTINGS_LINK_SECONDS - 60)
    fresh = before.settings_token(USER)
    rotated = _links(new, old)  # the new key first, the old one kept for what it sealed
    stale_grant = rotated.read_settings(stale.decode())
    fresh_grant = rotated.read_settings(fresh)
    assert stale_grant is not None and stale_grant.expired
    assert fresh_grant is not None and not fresh_grant.expired
