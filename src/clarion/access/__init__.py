"""What the API and the web pages both need over HTTP: who is calling (a bearer token or a
session's token looked up), the request dependencies, the inbox's live event stream, and how
invalid input is described. Both import it; it imports neither, so either can be read and
changed apart from the other."""

from clarion.access.deps import (
    AdminDep,
    BearerDep,
    DatabaseDep,
    PrincipalDep,
    ServiceDep,
    get_service,
    refuse_nul,
    require_user,
)
from clarion.access.principal import ADMIN_ROLES, Principal, actor_of, principal_for

__all__ = [
    "ADMIN_ROLES",
    "AdminDep",
    "BearerDep",
    "DatabaseDep",
    "Principal",
    "PrincipalDep",
    "ServiceDep",
    "actor_of",
    "get_service",
    "principal_for",
    "refuse_nul",
    "require_user",
]
