"""Users in the store: a taken email or username is a Conflict naming which."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clarion.errors import Conflict
from clarion.store.db import Database
from clarion.store.users import create_user, update_user


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.close()


async def test_a_taken_email_or_username_is_a_conflict_naming_which(db: Database) -> None:
    async with db.begin() as conn:
        await create_user(conn, email="ann@example.com", username="ann", name="", roles=[])
        bob = await create_user(conn, email="bob@example.com", username="bob", name="", roles=[])
    with pytest.raises(Conflict) as clash:
        async with db.begin() as conn:
            await create_user(conn, email="Ann@example.com", username="anne", name="", roles=[])
    assert str(clash.value) == "a user with email 'ann@example.com' already exists"
    with pytest.raises(Conflict) as clash:
        async with db.begin() as conn:
            await create_user(conn, email="anne@example.com", username="ann", name="", roles=[])
    assert str(clash.value) == "a user with username 'ann' already exists"
    with pytest.raises(Conflict) as clash:
        async with db.begin() as conn:
            await update_user(conn, bob.id, username="ann")
    assert str(clash.value) == "a user with username 'ann' already exists"
