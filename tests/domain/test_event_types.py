"""The event type catalog's rules, asked directly: built-ins are only switched and given a
method; custom types are checked, created, replaced and deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clarion.domain.event_types import Definition, EventTypes
from clarion.errors import Conflict, Invalid, NotFound
from clarion.intake.catalog import BUILTIN_EVENT_TYPES
from clarion.store.db import Database
from clarion.store.event_types import sync_builtin_event_types

INVOICE = Definition(
    name="Invoice Overdue",
    title_template="Invoice {{ labels.number }} is overdue",
    body_template="Invoice **{{ labels.number }}** is late.",
    actions=[{"label": "Pay", "url": "{{ base_url }}/invoices/{{ labels.number }}"}],
    required_labels=["number"],
)


@pytest.fixture
async def types(db_url: str) -> AsyncIterator[EventTypes]:
    database = Database(db_url)
    await sync_builtin_event_types(database, BUILTIN_EVENT_TYPES)
    yield EventTypes(database, "smtp")
    await database.close()


async def test_a_taken_key_is_a_conflict(types: EventTypes) -> None:
    created = await types.create("invoice_overdue", INVOICE)
    assert created.kind == "custom" and created.group == "Custom Events"
    with pytest.raises(Conflict, match="'invoice_overdue' already exists"):
        await types.create("invoice_overdue", INVOICE)
    with pytest.raises(Conflict, match="'workspace_deleted' already exists"):
        await types.create("workspace_deleted", INVOICE)


async def test_a_template_that_does_not_work_is_invalid_before_it_is_stored(
    types: EventTypes,
) -> None:
    broken = Definition(name="x", title_template="{{ labels.amount }}", body_template="b")
    with pytest.raises(Invalid) as refused:
        await types.create("broken", broken)
    assert refused.value.field == "template" and "amount" in str(refused.value)
    with pytest.raises(NotFound):
        await types.get("broken")


async def test_a_method_not_offered_is_invalid_naming_method(types: EventTypes) -> None:
    with pytest.raises(Invalid) as refused:
        await types.set_choices("workspace_deleted", method="pigeon")
    assert refused.value.field == "method"
    with pytest.raises(Invalid):
        await types.create("invoice_overdue", INVOICE, method="pigeon")


async def test_built_ins_are_switched_and_given_a_method_only(types: EventTypes) -> None:
    chosen = await types.set_choices("workspace_deleted", enabled=False, method="inbox")
    assert (chosen.enabled, chosen.method, types.effective_method(chosen)) == (
        False,
        "inbox",
        "inbox",
    )
    kept = await types.set_choices("workspace_deleted", enabled=True)
    assert (kept.enabled, kept.method) == (True, "inbox")
    default = await types.set_choices("workspace_deleted", use_default_method=True)
    assert default.method is None and types.effective_method(default) == "smtp"

    with pytest.raises(Conflict, match="built in"):
        await types.replace("workspace_deleted", INVOICE)
    with pytest.raises(Conflict, match="built in"):
        await types.delete("workspace_deleted")
    assert (await types.get("workspace_deleted")).title_template != INVOICE.title_template


async def test_a_custom_type_is_replaced_and_deleted(types: EventTypes) -> None:
    await types.create("invoice_overdue", INVOICE, method="inbox")
    await types.set_choices("invoice_overdue", enabled=False)
    replaced = await types.replace(
        "invoice_overdue", Definition(name="Overdue", title_template="Late", body_template="b")
    )
    # The definition is new; the admin's switches stay.
    assert (replaced.name, replaced.actions, replaced.enabled, replaced.method) == (
        "Overdue",
        [],
        False,
        "inbox",
    )
    listing = await types.list_all()
    assert "invoice_overdue" in listing.groups["Custom Events"]
    assert "workspace_deleted" in listing.groups["Workspace Events"]
    await types.delete("invoice_overdue")
    for attempt in (
        types.get("invoice_overdue"),
        types.delete("invoice_overdue"),
        types.replace("invoice_overdue", INVOICE),
        types.set_choices("invoice_overdue", enabled=True),
    ):
        with pytest.raises(NotFound):
            await attempt
