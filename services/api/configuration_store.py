"""The admin configuration (LISA's `/configuration`): versions of one item per scope, newest first.

Each PUT adds a version (key configScope + zero-padded versionId) on the condition that it does not exist yet, so
two admins saving at once cannot overwrite each other silently: the second gets 409. Readers take the newest; with
none stored, the defaults below (every component on, as LISA seeds them, session encryption off).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from core.dynamo import ConditionFailed, Table
from core.errors import ConflictError

# LISA's enabledComponents, seeded as LISA seeds them; the UI hides what is off.
DEFAULT_COMPONENTS: dict[str, bool] = {
    "deleteSessionHistory": True, "viewMetaData": True, "editKwargs": True, "editPromptTemplate": True,
    "editChatHistoryBuffer": True, "editNumOfRagDocument": True, "uploadRagDocs": True, "ragSelectionAvailable": True,
    "uploadContextDocs": True, "documentSummarization": True, "showRagLibrary": True, "showMcpWorkbench": False,
    "showPromptTemplateLibrary": True, "mcpConnections": True, "bedrockAgents": False, "awsSessions": False,
    "modelLibrary": True, "encryptSession": False, "chatAssistantStacks": False, "projectOrganization": True,
    "enableModelComparisonUtility": True, "enableUserApiTokens": False,
}
DEFAULT_MAX_PROJECTS = 50
HISTORY = 20


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def version_key(version: int) -> str:
    return f"{version:010d}"


def default_configuration() -> dict[str, Any]:
    return {"enabledComponents": dict(DEFAULT_COMPONENTS), "maxProjectsPerUser": DEFAULT_MAX_PROJECTS,
            "systemBanner": {"isEnabled": False, "text": "", "textColor": "#000000", "backgroundColor": "#ffd54f"}}


def wire(item: dict[str, Any]) -> dict[str, Any]:
    configuration = {**default_configuration(), **(item.get("configuration") or {})}
    configuration["enabledComponents"] = {**DEFAULT_COMPONENTS, **configuration["enabledComponents"]}
    return {"configScope": item["configScope"], "versionId": int(item["versionId"]),
            "changedBy": item.get("changedBy", "system"), "changeReason": item.get("changeReason", ""),
            "createdAt": item.get("createdAt"), "configuration": configuration}


class ConfigurationStore:
    def __init__(self, table_name: str) -> None:
        self.table = Table(table_name)

    def history(self, scope: str, limit: int = HISTORY) -> list[dict[str, Any]]:
        items = list(self.table.query("configScope = :s", values={":s": scope}, consistent=True, forward=False,
                                      limit=limit))
        return [wire(i) for i in items] or [wire({"configScope": scope, "versionId": 0, "configuration": {}})]

    def current(self, scope: str = "global") -> dict[str, Any]:
        return self.history(scope, limit=1)[0]

    def put(self, scope: str, configuration: dict[str, Any], *, changed_by: str, change_reason: str,
            version: int | None) -> dict[str, Any]:
        version = version if version is not None else self.current(scope)["versionId"] + 1
        item = {"configScope": scope, "versionId": version_key(version), "configuration": configuration,
                "changedBy": changed_by, "changeReason": change_reason, "createdAt": now_iso()}
        try:
            self.table.put(item, condition="attribute_not_exists(versionId)")
        except ConditionFailed:
            raise ConflictError(f"version {version} of the {scope} configuration exists: read it again and retry",
                                param="versionId") from None
        return wire(item)
