"""Who may act on a user's account, preferences and API tokens: the one rule the API and the
pages both ask."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from clarion.domain.accounts import Accounts, Actor, Concern
from clarion.errors import Forbidden
from clarion.store.users import User

CONCERNS: tuple[Concern, ...] = ("account", "preferences", "tokens")


def _user(username: str, *roles: str) -> User:
    now = datetime.now(UTC)
    return User(uuid.uuid4(), f"{username}@example.com", username, "", roles, "active", now, now)


def _actor(user: User) -> Actor:
    return Actor(user.username, user.id, "owner" in user.roles, user.is_admin)


def _allowed(actor: Actor, user: User, concern: Concern) -> bool:
    try:
        Accounts.check_may_manage(actor, user, concern)
    except Forbidden:
        return False
    return True


OLGA, OTTO = _user("olga", "owner"), _user("otto", "owner")
ULA, UDO = _user("ula", "user-admin"), _user("udo", "user-admin")
MO, MIA = _user("mo", "member"), _user("mia", "member")
ADMIN_TOKEN = Actor("admin", is_owner=True, is_admin=True)


@pytest.mark.parametrize("concern", CONCERNS)
def test_everyone_acts_on_their_own(concern: Concern) -> None:
    for user in (OLGA, ULA, MO):
        assert _allowed(_actor(user), user, concern)


@pytest.mark.parametrize("concern", CONCERNS)
def test_an_owner_acts_on_anyone(concern: Concern) -> None:
    for actor in (_actor(OLGA), ADMIN_TOKEN):
        for user in (OTTO, ULA, MO):
            assert _allowed(actor, user, concern)


@pytest.mark.parametrize("concern", CONCERNS)
def test_a_user_admin_never_acts_on_an_owner(concern: Concern) -> None:
    assert not _allowed(_actor(ULA), OLGA, concern)


def test_a_user_admin_changes_others_accounts_and_preferences_but_not_their_tokens() -> None:
    for user in (UDO, MO):
        assert _allowed(_actor(ULA), user, "account")
        assert _allowed(_actor(ULA), user, "preferences")
        assert not _allowed(_actor(ULA), user, "tokens")


@pytest.mark.parametrize("concern", CONCERNS)
def test_a_member_acts_on_no_one_else(concern: Concern) -> None:
    for user in (MIA, ULA, OLGA):
        assert not _allowed(_actor(MO), user, concern)
