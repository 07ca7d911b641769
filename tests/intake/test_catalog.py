"""The built-in catalog: complete, well-formed, and every type renders."""

from __future__ import annotations

import re
import uuid

import pytest

from clarion.intake.catalog import BUILTIN_EVENT_TYPES, EventTypeSpec, builtin
from clarion.render import RenderContext, render_event, validate_templates

RULES = {"subject_user", "role:owner", "role:user-admin", "role:template-admin", "-initiator"}
PART_C_KEYS = {
    "workspace_created",
    "workspace_manually_updated",
    "workspace_deleted",
    "workspace_autobuild_failed",
    "workspace_manual_build_failed",
    "workspace_autoupdated",
    "workspace_dormant",
    "workspace_marked_for_deletion",
    "workspace_out_of_memory",
    "workspace_out_of_disk",
    "user_account_created",
    "user_account_deleted",
    "user_account_suspended",
    "user_account_activated",
    "your_account_suspended",
    "your_account_activated",
    "user_one_time_passcode",
    "template_deleted",
    "template_deprecated",
    "report_workspace_builds_failed",
    "prebuild_resource_replaced",
    "prebuild_failure_limit_reached",
    "task_working",
    "task_idle",
    "task_completed",
    "task_failed",
    "test_notification",
    "custom_notification",
    "deploy_succeeded",
    "deploy_failed",
    "database_backup_succeeded",
    "database_backup_failed",
    "volume_backup_succeeded",
    "volume_backup_failed",
    "instance_backup_succeeded",
    "instance_backup_failed",
    "docker_cleanup_completed",
    "platform_restarted",
    "server_threshold_exceeded",
}


def _actions(spec: EventTypeSpec) -> list[dict[str, str]]:
    return [{"label": a.label, "url": a.url} for a in spec.actions]


def _ctx(spec: EventTypeSpec, labels: dict[str, str]) -> RenderContext:
    return RenderContext(
        template_id=str(spec.id),
        template_name=spec.name,
        user_id=str(uuid.uuid4()),
        user_email="ann@example.com",
        user_name="Ann",
        user_username="ann",
        labels=labels,
        data=dict(spec.example_data),
        base_url="https://clarion.example.com",
    )


def test_catalog_covers_part_c_with_unique_keys_and_ids() -> None:
    keys = [s.key for s in BUILTIN_EVENT_TYPES]
    assert set(keys) == PART_C_KEYS and len(keys) == len(set(keys))
    assert len({s.id for s in BUILTIN_EVENT_TYPES}) == len(keys)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]+", k) for k in keys)
    assert builtin("workspace_deleted").id == uuid.UUID("f517da0b-cdc9-410f-ab89-a86107c420ed")
    assert builtin("user_account_created").id == uuid.UUID("4e19c0ac-94e1-4532-9515-d1801aa283b2")
    assert builtin("your_account_suspended").id == uuid.UUID("6a2f0609-9b69-4d36-a989-9f5925b6cbff")
    assert not builtin("workspace_created").enabled_by_default
    with pytest.raises(KeyError, match=r"nope"):
        builtin("nope")


@pytest.mark.parametrize("spec", BUILTIN_EVENT_TYPES, ids=lambda s: s.key)
def test_every_type_validates_and_renders(spec: EventTypeSpec) -> None:
    assert set(spec.recipients) <= RULES
    assert set(spec.example_labels) == set(spec.required_labels) | set(spec.optional_labels)
    validate_templates(
        spec.title_template, spec.body_template, _actions(spec), spec.required_labels
    )
    full = render_event(
        spec.title_template,
        spec.body_template,
        _actions(spec),
        _ctx(spec, dict(spec.example_labels)),
    )
    required_only = {k: spec.example_labels[k] for k in spec.required_labels}
    render_event(spec.title_template, spec.body_template, _actions(spec), _ctx(spec, required_only))
    assert full.title and full.body_text and full.body_html.startswith("<")
    assert "{{" not in full.body_markdown and "{%" not in full.body_markdown
    for action in full.actions:
        assert action.url.startswith(("https://", "http://"))
