"""The roles a user may hold, in one place for the API, the pages, the store and the CLI."""

from __future__ import annotations

from typing import Literal, get_args

# From the least to the most trusted: the order the pages offer them in.
Role = Literal["member", "template-admin", "user-admin", "owner"]
ROLES: tuple[Role, ...] = get_args(Role)
# The roles that manage users (and see everyone's messages).
ADMIN_ROLES: frozenset[Role] = frozenset({"owner", "user-admin"})
