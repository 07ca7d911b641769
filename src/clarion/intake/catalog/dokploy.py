"""Dokploy's events: deploys, backups, cleanup, restarts and server thresholds.

They have no user recipients: they reach the team channels subscribed to them, and the
subscription is the opt-in (Dokploy's flags default to off), so the types themselves are
enabled. Dokploy's one-flag-for-both-outcomes is split: success and failure are separate
keys, so a team can mute successes and keep failures.
"""

from __future__ import annotations

from uuid import UUID

from clarion.intake.catalog import ActionSpec, EventTypeSpec

DEPLOY = "Deploy Events"
BACKUP = "Backup Events"
SERVER = "Server Events"
BUILD_LINK = (ActionSpec("View deployment", "{{ labels.build_url }}"),)
ERROR_BLOCK = "\n\n{{ labels.error_message | code_block }}"
PROJECT = "- **Project:** {{ labels.project }}\n- **Application:** {{ labels.application }}\n"
OPTIONAL_SIZE = (
    "{% if labels.backup_size is defined and labels.backup_size %}"
    "\n- **Size:** {{ labels.backup_size }}{% endif %}"
)

BUILD_URL_EXAMPLE = (
    "https://dokploy.example.com/dashboard/project/p_4f2a/environment/e_91c0"
    "/services/application/a_7d3e?tab=deployments"
)
_DB_EXAMPLE = {
    "project": "shop",
    "application": "orders-db",
    "database_type": "postgres",
    "database_name": "orders",
    "error_message": "pg_dump: connection refused",
}
_VOLUME_EXAMPLE = {
    "project": "shop",
    "application": "api",
    "volume_name": "uploads",
    "service_type": "application",
    "backup_size": "1.2 GB",
    "error_message": "disk full",
}

# Every type here keeps enabled_by_default=True and recipients=(): unlike Coder's events they
# have no user recipients, and the opt-in (Dokploy's flags default to off) is a channel's
# subscription to the key, so turning the type off by default would mute subscribed channels.
DOKPLOY_EVENTS: tuple[EventTypeSpec, ...] = (
    EventTypeSpec(
        key="deploy_succeeded",
        id=UUID("38d1e624-20cc-4f8a-a1b1-b35ac99fecf8"),
        name="Deploy Succeeded",
        group=DEPLOY,
        title_template="✅ {{ labels.application }} deployed",
        body_template="The build of **{{ labels.application }}** succeeded.\n\n"
        + PROJECT
        + "- **Type:** {{ labels.application_type }}"
        "{% if labels.environment is defined and labels.environment %}"
        "\n- **Environment:** {{ labels.environment }}{% endif %}"
        "{% if data.domains is defined and data.domains %}\n- **Domains:** "
        "{{ data.domains | join(', ') }}{% endif %}",
        actions=BUILD_LINK,
        # Part C lists environment as required; Dokploy's own custom-webhook payload and
        # Mattermost message leave it out, so a sender may not have it: optional here.
        required_labels=("project", "application", "application_type", "build_url"),
        optional_labels=("environment",),
        example_labels={
            "project": "shop",
            "application": "api",
            "application_type": "application",
            "environment": "production",
            "build_url": BUILD_URL_EXAMPLE,
        },
        example_data={"domains": ["api.shop.example.com"]},
    ),
    EventTypeSpec(
        key="deploy_failed",
        id=UUID("02ceb4e7-a50d-456b-8e44-1a451b48121d"),
        name="Deploy Failed",
        group=DEPLOY,
        title_template="⚠️ {{ labels.application }} failed to build",
        body_template="The build of **{{ labels.application }}** failed.\n\n"
        + PROJECT
        + "- **Type:** {{ labels.application_type }}"
        + ERROR_BLOCK,
        actions=BUILD_LINK,
        required_labels=(
            "project",
            "application",
            "application_type",
            "error_message",
            "build_url",
        ),
        example_labels={
            "project": "shop",
            "application": "api",
            "application_type": "compose",
            "error_message": "npm ERR! missing script: build",
            "build_url": BUILD_URL_EXAMPLE,
        },
    ),
    EventTypeSpec(
        key="database_backup_succeeded",
        id=UUID("dd2ad967-252b-4ca0-a339-aa2478822e39"),
        name="Database Backup Succeeded",
        group=BACKUP,
        title_template="✅ Backup of {{ labels.database_name }} succeeded",
        body_template="A {{ labels.database_type }} backup finished.\n\n"
        + PROJECT
        + "- **Database:** {{ labels.database_name }}",
        required_labels=("project", "application", "database_type", "database_name"),
        example_labels={k: v for k, v in _DB_EXAMPLE.items() if k != "error_message"},
    ),
    EventTypeSpec(
        key="database_backup_failed",
        id=UUID("dc94ce5a-f8d8-4d55-bb86-7553b4f67d9a"),
        name="Database Backup Failed",
        group=BACKUP,
        title_template="❌ Backup of {{ labels.database_name }} failed",
        body_template="A {{ labels.database_type }} backup did not finish.\n\n"
        + PROJECT
        + "- **Database:** {{ labels.database_name }}"
        + ERROR_BLOCK,
        required_labels=(
            "project",
            "application",
            "database_type",
            "database_name",
            "error_message",
        ),
        example_labels=dict(_DB_EXAMPLE),
    ),
    EventTypeSpec(
        key="volume_backup_succeeded",
        id=UUID("a489676e-0373-49b6-b521-8348250c4855"),
        name="Volume Backup Succeeded",
        group=BACKUP,
        title_template="✅ Backup of volume {{ labels.volume_name }} succeeded",
        body_template="A volume backup finished.\n\n"
        + PROJECT
        + "- **Volume:** {{ labels.volume_name }}\n- **Service:** {{ labels.service_type }}"
        + OPTIONAL_SIZE,
        required_labels=("project", "application", "volume_name", "service_type"),
        optional_labels=("backup_size",),
        example_labels={k: v for k, v in _VOLUME_EXAMPLE.items() if k != "error_message"},
    ),
    EventTypeSpec(
        key="volume_backup_failed",
        id=UUID("58b4d6aa-eec2-418b-8110-2198c3f1da50"),
        name="Volume Backup Failed",
        group=BACKUP,
        title_template="❌ Backup of volume {{ labels.volume_name }} failed",
        body_template="A volume backup did not finish.\n\n"
        + PROJECT
        + "- **Volume:** {{ labels.volume_name }}\n- **Service:** {{ labels.service_type }}"
        + ERROR_BLOCK,
        required_labels=("project", "application", "volume_name", "service_type", "error_message"),
        example_labels={k: v for k, v in _VOLUME_EXAMPLE.items() if k != "backup_size"},
    ),
    EventTypeSpec(
        key="instance_backup_succeeded",
        id=UUID("91db04a3-7b9c-4e67-8afb-6443fee9c1c8"),
        name="Instance Backup Succeeded",
        group=BACKUP,
        title_template="✅ Instance backup succeeded",
        body_template="A complete backup of the instance finished."
        "{% if labels.backup_size is defined and labels.backup_size %}\n\n"
        "- **Size:** {{ labels.backup_size }}{% endif %}",
        optional_labels=("backup_size",),
        example_labels={"backup_size": "4.7 GB"},
    ),
    EventTypeSpec(
        key="instance_backup_failed",
        id=UUID("632cd639-441a-4b4d-bf6e-9420e20b3726"),
        name="Instance Backup Failed",
        group=BACKUP,
        title_template="❌ Instance backup failed",
        body_template="A complete backup of the instance did not finish." + ERROR_BLOCK,
        required_labels=("error_message",),
        example_labels={"error_message": "S3 upload: access denied"},
    ),
    EventTypeSpec(
        key="docker_cleanup_completed",
        id=UUID("28427ac3-8540-4aa0-8029-436491654331"),
        name="Docker Cleanup Completed",
        group=SERVER,
        title_template="✅ Docker cleanup done",
        body_template="Unused Docker images, containers and build cache were cleaned up.\n\n"
        "- **Result:** {{ labels.message }}",
        required_labels=("message",),
        example_labels={"message": "Removed 14 images and 3 stopped containers (2.1 GB)."},
    ),
    EventTypeSpec(
        key="platform_restarted",
        id=UUID("4813018e-907d-4d16-80c3-32c04eb23f03"),
        name="Platform Restarted",
        group=SERVER,
        title_template="✅ Server restarted",
        body_template="The platform server restarted and is running again. If nobody "
        "planned a restart, check its logs.",
    ),
    EventTypeSpec(
        key="server_threshold_exceeded",
        id=UUID("2404dbb8-ba84-481b-8316-c44ddd243861"),
        name="Server Threshold Exceeded",
        group=SERVER,
        title_template="⚠️ {{ labels.server_name }}: {{ labels.metric | upper }} over "
        "{{ labels.threshold }}%",
        body_template="{{ labels.message }}\n\n"
        "- **Server:** {{ labels.server_name }}\n- **Metric:** {{ labels.metric }}\n"
        "- **Current value:** {{ labels.value }}%\n- **Threshold:** {{ labels.threshold }}%",
        required_labels=("server_name", "metric", "value", "threshold", "message"),
        example_labels={
            "server_name": "web-1",
            "metric": "cpu",
            "value": "93.50",
            "threshold": "80.00",
            "message": "CPU usage 93.50% exceeds the 80.00% threshold",
        },
    ),
)
