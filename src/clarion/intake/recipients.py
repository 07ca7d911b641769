"""Who hears about an event: the event type's recipient rules, then each user's preferences."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from clarion.intake.catalog import MUST_SEND
from clarion.intake.lookups import Lookups
from clarion.store.event_types import EventType
from clarion.store.users import User

# The user an account-status event is about hears of it even though they are suspended.
SUBJECT_MAY_BE_SUSPENDED = frozenset({"your_account_suspended"})


@dataclass(frozen=True)
class PlannedRecipient:
    user: User
    inhibited_reason: str | None = None


def role_rules(event_type: EventType) -> list[str]:
    """The roles an event type's ``role:…`` rules name."""
    return [r.removeprefix("role:") for r in event_type.recipients if r.startswith("role:")]


def may_reach(event_type: EventType, user: User) -> bool:
    """Whether the type's rules can name this user: as the affected user, or by a role they
    hold (explicit targets aside)."""
    if "subject_user" in event_type.recipients:
        return True
    return any(role in user.roles for role in role_rules(event_type))


def _may_receive(user: User, event_type: EventType, *, is_subject: bool) -> bool:
    if user.status == "active":
        return True
    return user.status == "suspended" and is_subject and event_type.key in SUBJECT_MAY_BE_SUSPENDED


async def resolve_user_recipients(
    lookups: Lookups,
    event_type: EventType,
    *,
    subject: User | None,
    labels: Mapping[str, str],
    targets: Sequence[uuid.UUID] = (),
) -> list[PlannedRecipient]:
    """Apply the type's rules (``subject_user``, ``role:…``, ``-initiator``), add explicit
    target users, then apply preferences.

    Suspended and deleted users get nothing (except the subject of a suspension notice);
    an opted-out user, or one who never turned on an off-by-default type, gets an
    ``inhibited`` message with the reason, so the log shows why nothing was sent.
    """
    chosen: dict[str, User] = {}
    wants_subject = subject is not None and "subject_user" in event_type.recipients
    if subject is not None and wants_subject and _may_receive(subject, event_type, is_subject=True):
        chosen[str(subject.id)] = subject
    roles = role_rules(event_type)
    for user in await lookups.role_holders(roles) if roles else []:
        chosen.setdefault(str(user.id), user)
    # Targets are related objects, as in Coder; those that are users also hear of it.
    for user in await lookups.users_by_ids(targets):
        if user.status == "active":
            chosen.setdefault(str(user.id), user)
    if "-initiator" in event_type.recipients and labels.get("initiator"):
        chosen = {k: u for k, u in chosen.items() if u.username != labels["initiator"]}

    users = list(chosen.values())
    if event_type.key in MUST_SEND:
        return [PlannedRecipient(u) for u in users]
    prefs = await lookups.preferences([u.id for u in users], event_type.key)
    planned = []
    for user in users:
        disabled = prefs.get(user.id)
        reason = None
        if disabled:
            reason = f"{user.username} opted out of {event_type.key!r}"
        elif disabled is None and not event_type.enabled_by_default:
            reason = (
                f"{event_type.key!r} is off by default and {user.username} has not turned it on"
            )
        planned.append(PlannedRecipient(user, reason))
    return planned
