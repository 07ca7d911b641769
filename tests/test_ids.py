"""Bulk-drawn ids are proper, distinct version 4 UUIDs."""

from __future__ import annotations

import uuid

from clarion.ids import new_id


def test_ids_are_random_version_4_uuids() -> None:
    ids = [new_id() for _ in range(3000)]  # crosses several 4 KiB refills
    assert len(set(ids)) == len(ids)
    for value in ids:
        assert value.version == 4
        assert value.variant == uuid.RFC_4122
        assert uuid.UUID(str(value)) == value
    # The random bits vary: every hex digit outside the fixed version nibble is used.
    digits = {c for value in ids for c in value.hex[:12] + value.hex[13:]}
    assert digits == set("0123456789abcdef")
