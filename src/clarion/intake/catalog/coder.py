"""Coder's events: users, templates, prebuilds, tasks, test and custom (workspaces: workspaces.py).

Ids are Coder's own template UUIDs, so the webhook's ``notification_template_id`` matches
what Coder receivers expect; label names are Coder's, verbatim.
"""

from __future__ import annotations

from uuid import UUID

from clarion.intake.catalog import (
    GREETING,
    TEMPLATE_ADMINS,
    USER_ADMINS,
    ActionSpec,
    EventTypeSpec,
)
from clarion.intake.catalog.workspaces import WORKSPACE_EVENTS

USERS = "User Events"
TEMPLATES = "Template Events"
TASKS = "Task Events"
# A channel subscribed to a Coder event renders it with no user: then there is no greeting.
VIEW_ACCOUNTS = ActionSpec(
    "View accounts", "{{ base_url }}/deployment/users?filter=status%3Aactive"
)


def _account_event(
    key: str,
    ident: str,
    name: str,
    verb: str,
    action: ActionSpec | None,
    *,
    admin: bool,
    closing: str = "",
) -> EventTypeSpec:
    """An account status change: labels are ``<verb>_account_name`` etc., as in Coder."""
    account = f"{{{{ labels.{verb}_account_name }}}}"
    if admin:
        person = f"{{{{ labels.{verb}_account_user_name }}}}"
        title = f'User account "{account}" {verb}'
        body = f"The account **{account}** ({person}) was {verb} by **{{{{ labels.initiator }}}}**."
        labels: tuple[str, ...] = (f"{verb}_account_name", f"{verb}_account_user_name")
        recipients: tuple[str, ...] = USER_ADMINS
    else:
        title = f"Your account has been {verb}"
        body = f"Your account **{account}** was {verb} by **{{{{ labels.initiator }}}}**."
        labels = (f"{verb}_account_name",)
        recipients = ("subject_user",)
    labels += ("initiator",)
    examples = {f"{verb}_account_name": "ann", f"{verb}_account_user_name": "Ann Example"}
    return EventTypeSpec(
        key=key,
        id=UUID(ident),
        name=name,
        group=USERS,
        title_template=title,
        body_template=GREETING + body + (f"\n\n{closing}" if closing else ""),
        actions=(action,) if action else (),
        required_labels=labels,
        recipients=recipients,
        example_labels={label: examples.get(label, "olive") for label in labels},
        example_data={
            "user": {
                "id": "5c3b1d2e-0000-4000-8000-000000000001",
                "name": "Ann Example",
                "email": "ann@example.com",
            }
        },
    )


_USERS = [
    _account_event(
        "user_account_created",
        "4e19c0ac-94e1-4532-9515-d1801aa283b2",
        "User account created",
        "created",
        VIEW_ACCOUNTS,
        admin=True,
    ),
    _account_event(
        "user_account_deleted",
        "f44d9314-ad03-4bc8-95d0-5cad491da6b6",
        "User account deleted",
        "deleted",
        VIEW_ACCOUNTS,
        admin=True,
    ),
    _account_event(
        "user_account_suspended",
        "b02ddd82-4733-4d02-a2d7-c36f3598997d",
        "User account suspended",
        "suspended",
        ActionSpec(
            "View suspended accounts", "{{ base_url }}/deployment/users?filter=status%3Asuspended"
        ),
        admin=True,
    ),
    _account_event(
        "user_account_activated",
        "9f5af851-8408-4e73-a7a1-c6502ba46689",
        "User account activated",
        "activated",
        VIEW_ACCOUNTS,
        admin=True,
    ),
    _account_event(
        "your_account_suspended",
        "6a2f0609-9b69-4d36-a989-9f5925b6cbff",
        "Your account has been suspended",
        "suspended",
        None,
        admin=False,
        closing="You cannot sign in while it is suspended. If you think this is a mistake, "
        "ask an administrator.",
    ),
    _account_event(
        "your_account_activated",
        "1a6a6bea-ee0a-43e2-9e7c-eabdb53730e4",
        "Your account has been activated",
        "activated",
        ActionSpec("Open {{ app_name }}", "{{ base_url }}"),
        admin=False,
        closing="You can sign in again.",
    ),
    EventTypeSpec(
        key="user_one_time_passcode",
        id=UUID("62f86a30-2330-4b61-a26d-311ff3b608cf"),
        name="One-Time Passcode",
        group=USERS,
        title_template="Reset your password",
        body_template=GREETING
        + "Someone asked to reset the password of your account. Use the button below to "
        "choose a new one.\n\nIf it was not you, ignore this message: nothing changes.",
        actions=(
            ActionSpec(
                "Reset password",
                "{{ base_url }}/reset-password/change?otp={{ labels.one_time_passcode }}"
                "&email={{ user_email }}",
            ),
        ),
        required_labels=("one_time_passcode",),
        recipients=("subject_user",),
        example_labels={"one_time_passcode": "0b1d3f5a-7c9e"},
    ),
]

VIEW_PREBUILD_VERSION = ActionSpec(
    "View template version",
    "{{ base_url }}/templates/{{ labels.org }}/{{ labels.template }}"
    "/versions/{{ labels.template_version }}",
)

_TEMPLATES = [
    EventTypeSpec(
        key="template_deleted",
        id=UUID("29a09665-2a4c-403f-9648-54301670e7be"),
        name="Template Deleted",
        group=TEMPLATES,
        title_template='Template "{{ labels.name }}" deleted',
        body_template=GREETING
        + "The template **{{ labels.name }}** was deleted by **{{ labels.initiator }}**.",
        actions=(ActionSpec("View templates", "{{ base_url }}/templates"),),
        required_labels=("name", "initiator"),
        recipients=(*TEMPLATE_ADMINS, "-initiator"),
        example_labels={"name": "docker", "initiator": "olive"},
    ),
    EventTypeSpec(
        key="template_deprecated",
        id=UUID("f40fae84-55a2-42cd-99fa-b41c1ca64894"),
        name="Template Deprecated",
        group=TEMPLATES,
        title_template='Template "{{ labels.template }}" deprecated',
        body_template=GREETING
        + "The template **{{ labels.template }}** in {{ labels.organization }} is deprecated: "
        "{{ labels.message }}\n\nNo new workspaces can be created from it; your existing "
        "workspaces keep working.",
        actions=(
            ActionSpec(
                "See affected workspaces",
                "{{ base_url }}/workspaces?filter=owner%3Ame+template%3A{{ labels.template }}",
            ),
            ActionSpec(
                "View template",
                "{{ base_url }}/templates/{{ labels.organization }}/{{ labels.template }}",
            ),
        ),
        required_labels=("template", "message", "organization"),
        # One event per owner of a workspace built from the template (the caller fans out).
        recipients=("subject_user",),
        example_labels={"template": "docker", "message": "use docker-v2", "organization": "coder"},
    ),
    EventTypeSpec(
        key="report_workspace_builds_failed",
        id=UUID("34a20db2-e9cc-4a93-b0e4-8569699d7a00"),
        name="Report: Workspace Builds Failed",
        group=TEMPLATES,
        title_template="Failed workspace builds this {{ data.report_frequency | default('week') }}",
        body_template=GREETING + "Some workspace builds failed over the last "
        "{{ data.report_frequency | default('week') }}. Per template and version:\n\n"
        "{% for t in data.templates | default([]) %}"
        "- **{{ t.display_name or t.name }}**: {{ t.failed_builds }} of {{ t.total_builds }} "
        "builds failed\n"
        "{% for v in t.versions | default([]) %}"
        "  - Version **{{ v.template_version_name }}**: {{ v.failed_count }} failed\n"
        "{% for b in v.failed_builds | default([]) %}"
        "    - {{ b.workspace_owner_username }}/{{ b.workspace_name }}, "
        "build #{{ b.build_number }}\n"
        "{% endfor %}{% endfor %}{% endfor %}",
        # Coder's filter syntax: "id:<a> id:<b>" ("+" is a space); an empty filter shows all.
        actions=(
            ActionSpec(
                "View workspaces",
                "{{ base_url }}/workspaces?filter="
                "{% for t in data.templates | default([]) %}"
                "{% for v in t.versions | default([]) %}"
                "{% for b in v.failed_builds | default([]) %}id%3A{{ b.workspace_id }}+"
                "{% endfor %}{% endfor %}{% endfor %}",
            ),
        ),
        recipients=TEMPLATE_ADMINS,
        example_data={
            "report_frequency": "week",
            "templates": [
                {
                    "name": "docker",
                    "display_name": "Docker",
                    "failed_builds": 2,
                    "total_builds": 40,
                    "versions": [
                        {
                            "template_version_name": "v12",
                            "failed_count": 2,
                            "failed_builds": [
                                {
                                    "workspace_id": "0f7c1a52-3d4e-4b8a-9c61-2e5f7a9b0c13",
                                    "workspace_name": "dev",
                                    "workspace_owner_username": "ann",
                                    "build_number": 7,
                                },
                                {
                                    "workspace_id": "6b2d9e80-1c3f-4a57-8e94-d0a1b2c3e4f5",
                                    "workspace_name": "api",
                                    "workspace_owner_username": "bob",
                                    "build_number": 12,
                                },
                            ],
                        }
                    ],
                },
            ],
        },
    ),
    EventTypeSpec(
        key="prebuild_resource_replaced",
        id=UUID("89d9745a-816e-4695-a17f-3d0a229e2b8d"),
        name="Prebuilt Workspace Resource Replaced",
        group=TEMPLATES,
        title_template="Prebuilt workspace {{ labels.workspace }} had resources replaced",
        body_template=GREETING + "When **{{ labels.claimant }}** claimed the prebuilt workspace "
        "**{{ labels.workspace }}** "
        "(template {{ labels.template }}, version {{ labels.template_version }}, preset "
        "{{ labels.preset }}), resources were replaced because immutable attributes changed. "
        "That makes claims slow; check the template."
        "{% if data.replacements is defined %}\n\n{% for res, attrs in data.replacements.items() %}"
        "- `{{ res }}`: {{ attrs }}\n{% endfor %}{% endif %}",
        actions=(
            ActionSpec(
                "View workspace build",
                "{{ base_url }}/@{{ labels.claimant }}/{{ labels.workspace }}"
                "/builds/{{ labels.workspace_build_num }}",
            ),
            VIEW_PREBUILD_VERSION,
        ),
        required_labels=(
            "org",
            "template",
            "template_version",
            "preset",
            "workspace",
            "workspace_build_num",
            "claimant",
        ),
        recipients=TEMPLATE_ADMINS,
        example_labels={
            "org": "coder",
            "template": "docker",
            "template_version": "v12",
            "preset": "large",
            "workspace": "prebuild-1",
            "workspace_build_num": "2",
            "claimant": "ann",
        },
        example_data={"replacements": {"docker_container.workspace": "image, env"}},
    ),
    EventTypeSpec(
        key="prebuild_failure_limit_reached",
        id=UUID("414d9331-c1fc-4761-b40c-d1f4702279eb"),
        name="Prebuild Failure Limit Reached",
        group=TEMPLATES,
        title_template="Prebuilds for {{ labels.template }} / {{ labels.preset }} stopped",
        body_template=GREETING
        + "Prebuilt workspaces for template **{{ labels.template }}** (version "
        "{{ labels.template_version }}, preset **{{ labels.preset }}**) failed too often and "
        "have stopped. Fix the cause and push a new template version to resume them.",
        actions=(
            ActionSpec(
                "View failed prebuilt workspaces",
                "{{ base_url }}/workspaces?filter=owner:prebuilds+status:failed"
                "+template:{{ labels.template }}",
            ),
            VIEW_PREBUILD_VERSION,
        ),
        required_labels=("org", "template", "template_version", "preset"),
        recipients=TEMPLATE_ADMINS,
        example_labels={
            "org": "coder",
            "template": "docker",
            "template_version": "v12",
            "preset": "large",
        },
    ),
]


def _task_event(key: str, ident: str, name: str, state: str, detail: str) -> EventTypeSpec:
    return EventTypeSpec(
        key=key,
        id=UUID(ident),
        name=name,
        group=TASKS,
        title_template=f'Task "{{{{ labels.task }}}}" {state}',
        body_template=GREETING + f"Your task **{{{{ labels.task }}}}** {detail}",
        actions=(
            ActionSpec(
                "View task", "{{ base_url }}/tasks/{{ user_username }}/{{ labels.workspace }}"
            ),
            ActionSpec(
                "View workspace", "{{ base_url }}/@{{ user_username }}/{{ labels.workspace }}"
            ),
        ),
        required_labels=("task", "workspace"),
        recipients=("subject_user",),
        example_labels={"task": "Fix the flaky login test", "workspace": "agent-1"},
    )


_TASKS = [
    _task_event(
        "task_working",
        "bd4b7168-d05e-4e19-ad0f-3593b77aa90f",
        "Task Working",
        "is working",
        "has started working.",
    ),
    _task_event(
        "task_idle",
        "d4a6271c-cced-4ed0-84ad-afd02a9c7799",
        "Task Idle",
        "is idle",
        "is waiting for your input.",
    ),
    _task_event(
        "task_completed",
        "8c5a4d12-9f7e-4b3a-a1c8-6e4f2d9b5a7c",
        "Task Completed",
        "completed",
        "finished successfully.",
    ),
    _task_event(
        "task_failed",
        "3b7e8f1a-4c2d-49a6-b5e9-7f3a1c8d6b4e",
        "Task Failed",
        "failed",
        "failed. Check the workspace logs to see why.",
    ),
]

_OTHER = [
    EventTypeSpec(
        key="test_notification",
        id=UUID("c425f63e-716a-4bf4-ae24-78348f706c3f"),
        name="Test Notification",
        group="Notification Events",
        title_template="A test notification",
        body_template=GREETING + "This is a test notification from {{ app_name }}. "
        "If you can read it, delivery works.",
        actions=(
            ActionSpec(
                "View notification settings",
                "{{ base_url }}/deployment/notifications?tab=settings",
            ),
        ),
        recipients=("subject_user",),
    ),
    EventTypeSpec(
        key="custom_notification",
        id=UUID("39b1e189-c857-4b0c-877a-511144c18516"),
        name="Custom Notification",
        group="Custom Events",
        title_template="{{ labels.custom_title }}",
        body_template="{{ labels.custom_message }}",
        required_labels=("custom_title", "custom_message"),
        recipients=("subject_user",),
        example_labels={"custom_title": "Maintenance tonight", "custom_message": "From 22:00 UTC."},
    ),
]

CODER_EVENTS: tuple[EventTypeSpec, ...] = (
    *WORKSPACE_EVENTS,
    *_USERS,
    *_TEMPLATES,
    *_TASKS,
    *_OTHER,
)
