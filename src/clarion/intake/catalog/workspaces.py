"""Coder's workspace events, sent to the workspace owner or to template admins.

Ids are Coder's template UUIDs; label names are Coder's, verbatim.
"""

from __future__ import annotations

from uuid import UUID

from clarion.intake.catalog import GREETING, TEMPLATE_ADMINS, ActionSpec, EventTypeSpec

WS = "Workspace Events"
VIEW_WORKSPACE = ActionSpec(
    "View workspace", "{{ base_url }}/@{{ user_username }}/{{ labels.name }}"
)

WORKSPACE_EVENTS: tuple[EventTypeSpec, ...] = (
    EventTypeSpec(
        key="workspace_deleted",
        id=UUID("f517da0b-cdc9-410f-ab89-a86107c420ed"),
        name="Workspace Deleted",
        group=WS,
        title_template='Workspace "{{ labels.name }}" deleted',
        body_template=GREETING + "Your workspace **{{ labels.name }}** has been deleted.\n\n"
        "- **Why:** {{ labels.reason }}\n- **By:** {{ labels.initiator }}",
        actions=(
            ActionSpec("View workspaces", "{{ base_url }}/workspaces"),
            ActionSpec("View templates", "{{ base_url }}/templates"),
        ),
        required_labels=("name", "reason", "initiator"),
        # Coder does not tell owners about a deletion they started themselves.
        recipients=("subject_user", "-initiator"),
        example_labels={
            "name": "dev",
            "reason": "autodeleted due to dormancy",
            "initiator": "autobuild",
        },
    ),
    EventTypeSpec(
        key="workspace_autobuild_failed",
        id=UUID("381df2a9-c0c0-4749-420f-80a9280c66f9"),
        name="Workspace Autobuild Failed",
        group=WS,
        title_template='Workspace "{{ labels.name }}" failed to build automatically',
        body_template=GREETING
        + "An automatic build of your workspace **{{ labels.name }}** did not succeed.\n\n"
        "- **Trigger:** {{ labels.reason }}\n\nOpen the workspace to see the build log.",
        actions=(VIEW_WORKSPACE,),
        required_labels=("name", "reason"),
        recipients=("subject_user",),
        example_labels={"name": "dev", "reason": "autostart"},
    ),
    EventTypeSpec(
        key="workspace_manual_build_failed",
        id=UUID("2faeee0f-26cb-4e96-821c-85ccb9f71513"),
        name="Workspace Manual Build Failed",
        group=WS,
        title_template='Workspace "{{ labels.name }}" build '
        "#{{ labels.workspace_build_number }} failed",
        body_template=GREETING
        + "A build of **{{ labels.workspace_owner_username }}/{{ labels.name }}** started by "
        "**{{ labels.initiator }}** failed.\n\n"
        "- **Template:** {{ labels.template_name }}\n"
        "- **Version:** {{ labels.template_version_name }}\n"
        "- **Build:** #{{ labels.workspace_build_number }}",
        actions=(
            ActionSpec(
                "View build",
                "{{ base_url }}/@{{ labels.workspace_owner_username }}/{{ labels.name }}"
                "/builds/{{ labels.workspace_build_number }}",
            ),
        ),
        required_labels=(
            "name",
            "template_name",
            "template_version_name",
            "initiator",
            "workspace_build_number",
            "workspace_owner_username",
        ),
        recipients=TEMPLATE_ADMINS,
        example_labels={
            "name": "dev",
            "template_name": "docker",
            "template_version_name": "v12",
            "initiator": "ann",
            "workspace_build_number": "7",
            "workspace_owner_username": "ann",
        },
    ),
    EventTypeSpec(
        key="workspace_autoupdated",
        id=UUID("c34a0c09-0704-4cac-bd1c-0c0146811c2b"),
        name="Workspace Updated Automatically",
        group=WS,
        title_template='Workspace "{{ labels.name }}" updated automatically',
        body_template=GREETING
        + "Your workspace **{{ labels.name }}** now runs the latest template version, "
        "**{{ labels.template_version_name }}**."
        "{% if labels.template_version_message is defined and labels.template_version_message %}"
        "\n\nWhat changed: {{ labels.template_version_message }}{% endif %}",
        actions=(VIEW_WORKSPACE,),
        required_labels=("name", "template_version_name"),
        optional_labels=("template_version_message",),
        recipients=("subject_user",),
        example_labels={
            "name": "dev",
            "template_version_name": "v13",
            "template_version_message": "Go 1.23 and a bigger disk",
        },
    ),
    EventTypeSpec(
        key="workspace_dormant",
        id=UUID("0ea69165-ec14-4314-91f1-69566ac3c5a0"),
        name="Workspace Marked as Dormant",
        group=WS,
        title_template='Workspace "{{ labels.name }}" is dormant',
        body_template=GREETING
        + "Your workspace **{{ labels.name }}** was marked dormant: {{ labels.reason }} "
        "(no activity for {{ labels.dormancyHours }} hours; marked by {{ labels.initiator }}).\n\n"
        "Dormant workspaces are deleted after {{ labels.timeTilDormant }} unless used. "
        "Start it to keep it.",
        actions=(VIEW_WORKSPACE,),
        required_labels=("name", "reason", "initiator", "dormancyHours", "timeTilDormant"),
        recipients=("subject_user",),
        example_labels={
            "name": "dev",
            "reason": "inactivity exceeded the dormancy threshold",
            "initiator": "autobuild",
            "dormancyHours": "720",
            "timeTilDormant": "7 days",
        },
    ),
    EventTypeSpec(
        key="workspace_marked_for_deletion",
        id=UUID("51ce2fdf-c9ca-4be1-8d70-628674f9bc42"),
        name="Workspace Marked for Deletion",
        group=WS,
        title_template='Workspace "{{ labels.name }}" will be deleted',
        body_template=GREETING
        + "Your dormant workspace **{{ labels.name }}** is scheduled for deletion in "
        "{{ labels.timeTilDormant }} ({{ labels.reason }}; dormant after "
        "{{ labels.dormancyHours }} hours without use).\n\nStart it before then to keep it.",
        actions=(VIEW_WORKSPACE,),
        required_labels=("name", "reason", "dormancyHours", "timeTilDormant"),
        recipients=("subject_user",),
        example_labels={
            "name": "dev",
            "reason": "template auto-delete policy",
            "dormancyHours": "720",
            "timeTilDormant": "7 days",
        },
    ),
    EventTypeSpec(
        key="workspace_created",
        id=UUID("281fdf73-c6d6-4cbb-8ff5-888baf8a2fff"),
        name="Workspace Created",
        group=WS,
        title_template='Workspace "{{ labels.workspace }}" created',
        body_template=GREETING + "**{{ labels.workspace_owner_username }}** created the workspace "
        "**{{ labels.workspace }}** from template **{{ labels.template }}** "
        "(version {{ labels.version }}).",
        actions=(
            ActionSpec(
                "View workspace",
                "{{ base_url }}/@{{ labels.workspace_owner_username }}/{{ labels.workspace }}",
            ),
        ),
        required_labels=("workspace", "template", "version", "workspace_owner_username"),
        recipients=(*TEMPLATE_ADMINS, "-initiator"),
        enabled_by_default=False,
        example_labels={
            "workspace": "dev",
            "template": "docker",
            "version": "v12",
            "workspace_owner_username": "ann",
        },
    ),
    EventTypeSpec(
        key="workspace_manually_updated",
        id=UUID("d089fe7b-d5c5-4c0c-aaf5-689859f7d392"),
        name="Workspace Manually Updated",
        group=WS,
        title_template='Workspace "{{ labels.workspace }}" updated to {{ labels.version }}',
        body_template=GREETING
        + "**{{ labels.initiator }}** moved the workspace **{{ labels.workspace }}** "
        "(owned by {{ labels.workspace_owner_username }}) to version **{{ labels.version }}** "
        "of template **{{ labels.template }}** in {{ labels.organization }}.",
        actions=(
            ActionSpec(
                "View workspace",
                "{{ base_url }}/@{{ labels.workspace_owner_username }}/{{ labels.workspace }}",
            ),
            ActionSpec(
                "View template version",
                "{{ base_url }}/templates/{{ labels.organization }}/{{ labels.template }}"
                "/versions/{{ labels.version }}",
            ),
        ),
        required_labels=(
            "workspace",
            "template",
            "version",
            "organization",
            "initiator",
            "workspace_owner_username",
        ),
        recipients=(*TEMPLATE_ADMINS, "-initiator"),
        enabled_by_default=False,
        example_labels={
            "workspace": "dev",
            "template": "docker",
            "version": "v13",
            "organization": "coder",
            "initiator": "ann",
            "workspace_owner_username": "ann",
        },
    ),
    EventTypeSpec(
        key="workspace_out_of_memory",
        id=UUID("a9d027b4-ac49-4fb1-9f6d-45af15f64e7a"),
        name="Workspace Out Of Memory",
        group=WS,
        title_template='Workspace "{{ labels.workspace }}" is low on memory',
        body_template=GREETING
        + "Memory use in your workspace **{{ labels.workspace }}** went over "
        "{{ labels.threshold }}. Processes may be killed; consider closing some or "
        "choosing a larger size.",
        actions=(
            ActionSpec(
                "View workspace", "{{ base_url }}/@{{ user_username }}/{{ labels.workspace }}"
            ),
        ),
        required_labels=("workspace", "threshold"),
        recipients=("subject_user",),
        example_labels={"workspace": "dev", "threshold": "90%"},
    ),
    EventTypeSpec(
        key="workspace_out_of_disk",
        id=UUID("f047f6a3-5713-40f7-85aa-0394cce9fa3a"),
        name="Workspace Out Of Disk",
        group=WS,
        title_template='Workspace "{{ labels.workspace }}" is low on disk space',
        body_template=GREETING
        + "Your workspace **{{ labels.workspace }}** is running out of disk space."
        "{% if data.volumes is defined and data.volumes %}\n\n"
        "{% for volume in data.volumes %}- `{{ volume.path }}` is over "
        "{{ volume.threshold }}\n{% endfor %}{% endif %}",
        actions=(
            ActionSpec(
                "View workspace", "{{ base_url }}/@{{ user_username }}/{{ labels.workspace }}"
            ),
        ),
        required_labels=("workspace",),
        recipients=("subject_user",),
        example_labels={"workspace": "dev"},
        example_data={"volumes": [{"path": "/home/coder", "threshold": "95%"}]},
    ),
)
