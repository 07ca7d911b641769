"""The built-in catalog: complete against events.md Part C, well-formed, and every type renders."""

from __future__ import annotations

import inspect
import re
import uuid

import jinja2
import pytest
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from clarion.intake.catalog import (
    BUILTIN_EVENT_TYPES,
    EventTypeSpec,
    builtin,
    coder,
    dokploy,
    workspaces,
)
from clarion.render import RenderContext, Rendered, render_event, validate_templates

RULES = {"subject_user", "role:owner", "role:user-admin", "role:template-admin", "-initiator"}
SUBJECT = ("subject_user",)
USER_ADMINS = ("role:owner", "role:user-admin")
TEMPLATE_ADMINS = ("role:owner", "role:template-admin")
GROUPS = {
    "Workspace Events",
    "User Events",
    "Template Events",
    "Notification Events",
    "Custom Events",
    "Task Events",
    "Deploy Events",
    "Backup Events",
    "Server Events",
}
WS, USERS, TPL, TASKS = "Workspace Events", "User Events", "Template Events", "Task Events"
DEPLOY, BACKUP, SERVER = "Deploy Events", "Backup Events", "Server Events"
PROJECT_APP = ("project", "application")

# events.md Part C: key -> (Coder UUID or None, group, required labels, recipients).
PART_C: dict[str, tuple[str | None, str, tuple[str, ...], tuple[str, ...]]] = {
    "workspace_created": (
        "281fdf73-c6d6-4cbb-8ff5-888baf8a2fff",
        WS,
        ("workspace", "template", "version", "workspace_owner_username"),
        (*TEMPLATE_ADMINS, "-initiator"),
    ),
    "workspace_manually_updated": (
        "d089fe7b-d5c5-4c0c-aaf5-689859f7d392",
        WS,
        (
            "workspace",
            "template",
            "version",
            "organization",
            "initiator",
            "workspace_owner_username",
        ),
        (*TEMPLATE_ADMINS, "-initiator"),
    ),
    "workspace_deleted": (
        "f517da0b-cdc9-410f-ab89-a86107c420ed",
        WS,
        ("name", "reason", "initiator"),
        ("subject_user", "-initiator"),
    ),
    "workspace_autobuild_failed": (
        "381df2a9-c0c0-4749-420f-80a9280c66f9",
        WS,
        ("name", "reason"),
        SUBJECT,
    ),
    "workspace_manual_build_failed": (
        "2faeee0f-26cb-4e96-821c-85ccb9f71513",
        WS,
        (
            "name",
            "template_name",
            "template_version_name",
            "initiator",
            "workspace_build_number",
            "workspace_owner_username",
        ),
        TEMPLATE_ADMINS,
    ),
    "workspace_autoupdated": (
        "c34a0c09-0704-4cac-bd1c-0c0146811c2b",
        WS,
        ("name", "template_version_name"),
        SUBJECT,
    ),
    "workspace_dormant": (
        "0ea69165-ec14-4314-91f1-69566ac3c5a0",
        WS,
        ("name", "reason", "initiator", "dormancyHours", "timeTilDormant"),
        SUBJECT,
    ),
    "workspace_marked_for_deletion": (
        "51ce2fdf-c9ca-4be1-8d70-628674f9bc42",
        WS,
        ("name", "reason", "dormancyHours", "timeTilDormant"),
        SUBJECT,
    ),
    "workspace_out_of_memory": (
        "a9d027b4-ac49-4fb1-9f6d-45af15f64e7a",
        WS,
        ("workspace", "threshold"),
        SUBJECT,
    ),
    "workspace_out_of_disk": ("f047f6a3-5713-40f7-85aa-0394cce9fa3a", WS, ("workspace",), SUBJECT),
    "user_account_created": (
        "4e19c0ac-94e1-4532-9515-d1801aa283b2",
        USERS,
        ("created_account_name", "created_account_user_name", "initiator"),
        USER_ADMINS,
    ),
    "user_account_deleted": (
        "f44d9314-ad03-4bc8-95d0-5cad491da6b6",
        USERS,
        ("deleted_account_name", "deleted_account_user_name", "initiator"),
        USER_ADMINS,
    ),
    "user_account_suspended": (
        "b02ddd82-4733-4d02-a2d7-c36f3598997d",
        USERS,
        ("suspended_account_name", "suspended_account_user_name", "initiator"),
        USER_ADMINS,
    ),
    "user_account_activated": (
        "9f5af851-8408-4e73-a7a1-c6502ba46689",
        USERS,
        ("activated_account_name", "activated_account_user_name", "initiator"),
        USER_ADMINS,
    ),
    "your_account_suspended": (
        "6a2f0609-9b69-4d36-a989-9f5925b6cbff",
        USERS,
        ("suspended_account_name", "initiator"),
        SUBJECT,
    ),
    "your_account_activated": (
        "1a6a6bea-ee0a-43e2-9e7c-eabdb53730e4",
        USERS,
        ("activated_account_name", "initiator"),
        SUBJECT,
    ),
    "user_one_time_passcode": (
        "62f86a30-2330-4b61-a26d-311ff3b608cf",
        USERS,
        ("one_time_passcode",),
        SUBJECT,
    ),
    "template_deleted": (
        "29a09665-2a4c-403f-9648-54301670e7be",
        TPL,
        ("name", "initiator"),
        (*TEMPLATE_ADMINS, "-initiator"),
    ),
    "template_deprecated": (
        "f40fae84-55a2-42cd-99fa-b41c1ca64894",
        TPL,
        ("template", "message", "organization"),
        SUBJECT,
    ),
    "report_workspace_builds_failed": (
        "34a20db2-e9cc-4a93-b0e4-8569699d7a00",
        TPL,
        (),
        TEMPLATE_ADMINS,
    ),
    "prebuild_resource_replaced": (
        "89d9745a-816e-4695-a17f-3d0a229e2b8d",
        TPL,
        (
            "org",
            "template",
            "template_version",
            "preset",
            "workspace",
            "workspace_build_num",
            "claimant",
        ),
        TEMPLATE_ADMINS,
    ),
    "prebuild_failure_limit_reached": (
        "414d9331-c1fc-4761-b40c-d1f4702279eb",
        TPL,
        ("org", "template", "template_version", "preset"),
        TEMPLATE_ADMINS,
    ),
    "task_working": ("bd4b7168-d05e-4e19-ad0f-3593b77aa90f", TASKS, ("task", "workspace"), SUBJECT),
    "task_idle": ("d4a6271c-cced-4ed0-84ad-afd02a9c7799", TASKS, ("task", "workspace"), SUBJECT),
    "task_completed": (
        "8c5a4d12-9f7e-4b3a-a1c8-6e4f2d9b5a7c",
        TASKS,
        ("task", "workspace"),
        SUBJECT,
    ),
    "task_failed": ("3b7e8f1a-4c2d-49a6-b5e9-7f3a1c8d6b4e", TASKS, ("task", "workspace"), SUBJECT),
    "test_notification": (
        "c425f63e-716a-4bf4-ae24-78348f706c3f",
        "Notification Events",
        (),
        SUBJECT,
    ),
    "custom_notification": (
        "39b1e189-c857-4b0c-877a-511144c18516",
        "Custom Events",
        ("custom_title", "custom_message"),
        SUBJECT,
    ),
    # Part C also lists environment as required; clarion keeps it optional (see dokploy.py).
    "deploy_succeeded": (None, DEPLOY, (*PROJECT_APP, "application_type", "build_url"), ()),
    "deploy_failed": (
        None,
        DEPLOY,
        (*PROJECT_APP, "application_type", "error_message", "build_url"),
        (),
    ),
    "database_backup_succeeded": (
        None,
        BACKUP,
        (*PROJECT_APP, "database_type", "database_name"),
        (),
    ),
    "database_backup_failed": (
        None,
        BACKUP,
        (*PROJECT_APP, "database_type", "database_name", "error_message"),
        (),
    ),
    "volume_backup_succeeded": (
        None,
        BACKUP,
        (*PROJECT_APP, "volume_name", "service_type"),
        (),
    ),
    "volume_backup_failed": (
        None,
        BACKUP,
        (*PROJECT_APP, "volume_name", "service_type", "error_message"),
        (),
    ),
    "instance_backup_succeeded": (None, BACKUP, (), ()),
    "instance_backup_failed": (None, BACKUP, ("error_message",), ()),
    "docker_cleanup_completed": (None, SERVER, ("message",), ()),
    "platform_restarted": (None, SERVER, (), ()),
    "server_threshold_exceeded": (
        None,
        SERVER,
        ("server_name", "metric", "value", "threshold", "message"),
        (),
    ),
}
# Required labels Part C lists but that are optional in clarion.
OPTIONAL: dict[str, tuple[str, ...]] = {
    "workspace_autoupdated": ("template_version_message",),
    "deploy_succeeded": ("environment",),
    "volume_backup_succeeded": ("backup_size",),
    "instance_backup_succeeded": ("backup_size",),
}
OFF_BY_DEFAULT = {"workspace_created", "workspace_manually_updated"}
CHANNEL_ONLY = {key for key, (_, _, _, recipients) in PART_C.items() if not recipients}


def _ids(spec: EventTypeSpec) -> str:
    return spec.key


def _actions(spec: EventTypeSpec) -> list[dict[str, str]]:
    return [{"label": a.label, "url": a.url} for a in spec.actions]


def _sources(spec: EventTypeSpec) -> dict[str, str]:
    parts = {"title": spec.title_template, "body": spec.body_template}
    for number, action in enumerate(spec.actions, 1):
        parts[f"action {number} label"] = action.label
        parts[f"action {number} url"] = action.url
    return parts


def _render(spec: EventTypeSpec, labels: dict[str, str], *, user: bool = True) -> Rendered:
    ctx = RenderContext(
        template_id=str(spec.id),
        template_name=spec.name,
        user_id="7d0e5b1a-2f3c-4d6e-8a9b-0c1d2e3f4a5b" if user else "",
        user_email="ann@example.com" if user else "",
        user_name="Ann Example" if user else "",
        user_username="ann" if user else "",
        labels=labels,
        data=dict(spec.example_data),
        base_url="https://clarion.example.com",
    )
    return render_event(spec.title_template, spec.body_template, _actions(spec), ctx)


def _label_references(source: str) -> set[str]:
    """Every label a template names: labels.x, labels['x'] and labels.get('x')."""
    tree = SandboxedEnvironment().parse(source)
    found = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "labels" and node.attr != "get":
            found.add(node.attr)
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.node, nodes.Name) and item.node.name == "labels":
            assert isinstance(item.arg, nodes.Const), source
            found.add(item.arg.value)
    for call in tree.find_all(nodes.Call):
        target = call.node
        if (
            isinstance(target, nodes.Getattr)
            and target.attr == "get"
            and isinstance(target.node, nodes.Name)
            and target.node.name == "labels"
        ):
            assert call.args and isinstance(call.args[0], nodes.Const), source
            found.add(call.args[0].value)
    return found


def test_keys_are_unique_snake_case_and_exactly_part_c() -> None:
    keys = [spec.key for spec in BUILTIN_EVENT_TYPES]
    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", key) for key in keys), keys
    assert set(keys) == set(PART_C)


def test_ids_are_unique_uuids_and_coder_ids_are_coders() -> None:
    ids = [spec.id for spec in BUILTIN_EVENT_TYPES]
    assert all(isinstance(i, uuid.UUID) for i in ids)
    assert len(ids) == len(set(ids))
    coder_ids = {uuid.UUID(u) for u, *_ in PART_C.values() if u}
    for key, (expected, *_) in PART_C.items():
        if expected:
            assert builtin(key).id == uuid.UUID(expected), key
        else:
            assert builtin(key).id not in coder_ids, key
    assert builtin("workspace_deleted").id == uuid.UUID("f517da0b-cdc9-410f-ab89-a86107c420ed")
    assert builtin("your_account_activated").id == uuid.UUID("1a6a6bea-ee0a-43e2-9e7c-eabdb53730e4")


def test_ids_are_literals_in_the_source() -> None:
    source = "".join(inspect.getsource(m) for m in (coder, dokploy, workspaces))
    for spec in BUILTIN_EVENT_TYPES:
        assert f'UUID("{spec.id}")' in source or f'"{spec.id}"' in source, spec.key


def test_groups_labels_recipients_and_defaults_follow_part_c() -> None:
    for spec in BUILTIN_EVENT_TYPES:
        _, group, required, recipients = PART_C[spec.key]
        assert spec.group == group and spec.group in GROUPS, spec.key
        assert set(spec.required_labels) >= set(required), spec.key
        assert set(spec.required_labels) == set(required), spec.key
        assert spec.optional_labels == OPTIONAL.get(spec.key, ()), spec.key
        assert not set(spec.required_labels) & set(spec.optional_labels), spec.key
        assert spec.recipients == recipients, spec.key
        assert set(spec.recipients) <= RULES, spec.key
        # Dokploy's types are on: a channel subscription is the opt-in.
        assert spec.enabled_by_default is (spec.key not in OFF_BY_DEFAULT), spec.key
    assert builtin("user_one_time_passcode").group == "User Events"
    assert {s.key for s in BUILTIN_EVENT_TYPES if not s.recipients} == CHANNEL_ONLY


def test_specs_are_frozen_hashable_and_examples_are_dicts_of_strings() -> None:
    for spec in BUILTIN_EVENT_TYPES:
        hash(spec)
        assert isinstance(spec.example_labels, dict) and isinstance(spec.example_data, dict)
        assert all(isinstance(v, str) and v for v in spec.example_labels.values()), spec.key
        assert set(spec.example_labels) == set(spec.required_labels) | set(spec.optional_labels)
        assert isinstance(spec.actions, tuple) and isinstance(spec.required_labels, tuple)
    with pytest.raises(AttributeError):
        builtin("task_idle").key = "x"  # type: ignore[misc]
    assert builtin("workspace_out_of_disk").example_data["volumes"]
    assert builtin("deploy_succeeded").example_data["domains"]
    assert builtin("report_workspace_builds_failed").example_data["templates"]


def test_builtin_raises_key_error_naming_the_key() -> None:
    assert builtin("workspace_deleted").name == "Workspace Deleted"
    with pytest.raises(KeyError, match="no_such_event"):
        builtin("no_such_event")


@pytest.mark.parametrize("spec", BUILTIN_EVENT_TYPES, ids=_ids)
def test_templates_parse_in_a_strict_sandbox(spec: EventTypeSpec) -> None:
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    env.filters["code_block"] = str  # clarion's renderer adds it; here it only must exist
    for where, source in _sources(spec).items():
        env.parse(source)
        env.from_string(source)  # compiles: filters and tests resolve
        assert source.strip(), (spec.key, where)
    assert "\n" not in spec.title_template, spec.key
    validate_templates(
        spec.title_template, spec.body_template, _actions(spec), spec.required_labels
    )


@pytest.mark.parametrize("spec", BUILTIN_EVENT_TYPES, ids=_ids)
def test_template_labels_are_declared_and_optional_ones_used(spec: EventTypeSpec) -> None:
    used = set().union(*(_label_references(s) for s in _sources(spec).values()))
    declared = set(spec.required_labels) | set(spec.optional_labels)
    assert used <= declared, (spec.key, used - declared)
    assert set(spec.optional_labels) <= used, spec.key


@pytest.mark.parametrize("spec", BUILTIN_EVENT_TYPES, ids=_ids)
def test_renders_with_examples_and_with_required_labels_only(spec: EventTypeSpec) -> None:
    full = _render(spec, dict(spec.example_labels))
    # Optional labels absent: proves every label used unconditionally is required.
    required_only = _render(spec, {k: spec.example_labels[k] for k in spec.required_labels})
    for rendered in (full, required_only):
        assert rendered.title and "\n" not in rendered.title
        assert rendered.body_markdown and rendered.body_html.startswith("<")
        assert "{{" not in rendered.body_markdown and "{%" not in rendered.body_markdown
        assert len(rendered.actions) == len(spec.actions)
        for action in rendered.actions:
            assert action.label and "{" not in action.label
            assert re.match(r"https?://[^/\s]+", action.url), (spec.key, action.url)
    for label in spec.optional_labels:
        value = spec.example_labels[label]
        assert value.split()[0] in full.body_text, (spec.key, label)


@pytest.mark.parametrize("spec", BUILTIN_EVENT_TYPES, ids=_ids)
def test_renders_for_a_channel_without_a_user(spec: EventTypeSpec) -> None:
    rendered = _render(spec, dict(spec.example_labels), user=False)
    assert not rendered.body_text.startswith("Hi"), spec.key
    assert "Hi ," not in rendered.body_markdown


@pytest.mark.parametrize("spec", BUILTIN_EVENT_TYPES, ids=_ids)
def test_greetings_and_error_blocks(spec: EventTypeSpec) -> None:
    body = _render(spec, dict(spec.example_labels)).body_markdown
    if spec.key in CHANNEL_ONLY:
        assert "user_name" not in spec.body_template and not body.startswith("Hi")
    elif spec.key != "custom_notification":
        assert body.startswith("Hi Ann Example,"), spec.key
    if "error_message" in spec.required_labels:
        error = spec.example_labels["error_message"]
        assert f"```\n{error}\n```" in body, spec.key


def test_specific_renderings() -> None:
    custom = _render(
        builtin("custom_notification"), dict(builtin("custom_notification").example_labels)
    )
    assert custom.title == "Maintenance tonight"

    otp = _render(builtin("user_one_time_passcode"), {"one_time_passcode": "a b&c"})
    assert otp.actions[0].url == (
        "https://clarion.example.com/reset-password/change?otp=a%20b%26c&email=ann%40example.com"
    )

    report = builtin("report_workspace_builds_failed")
    rendered = _render(report, {})
    assert "ann/dev, build #7" in rendered.body_text
    assert rendered.actions[0].url.startswith(
        "https://clarion.example.com/workspaces?filter=id%3A0f7c1a52-"
    )

    disk = _render(builtin("workspace_out_of_disk"), {"workspace": "dev"})
    assert "/home/coder" in disk.body_text

    deploy = builtin("deploy_succeeded")
    rendered = _render(deploy, dict(deploy.example_labels))
    assert rendered.actions[0].url == deploy.example_labels["build_url"]
    assert "api.shop.example.com" in rendered.body_text


def test_examples_are_not_shared_between_specs() -> None:
    seen: dict[int, str] = {}
    for spec in BUILTIN_EVENT_TYPES:
        for value in (spec.example_labels, spec.example_data):
            if value:
                assert id(value) not in seen, (spec.key, seen.get(id(value)))
                seen[id(value)] = spec.key
