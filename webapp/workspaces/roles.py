"""What each role may do: one table, read by Actor.require() in the service
layer (pages and the API meet the same rule) and by the README's table.
Part of the core: plain data."""
from __future__ import annotations

from ..enums import Role

# action: (the least role that may do it, what it is in words)
ACTIONS: dict[str, tuple[Role, str]] = {
    "order.create": (Role.MEMBER, "create orders"),
    "order.change": (Role.MEMBER, "change orders"),
    "order.delete": (Role.MEMBER, "delete orders"),
    "customer.create": (Role.MEMBER, "create customers"),
    "customer.change": (Role.MEMBER, "change customers"),
    "customer.delete": (Role.MEMBER, "delete customers"),
    "report.request": (Role.MEMBER, "request reports"),
    "report.cancel": (Role.MEMBER, "cancel reports"),
    "report.delete": (Role.MEMBER, "delete reports"),
    "schedule.create": (Role.MEMBER, "create schedules"),
    "schedule.change": (Role.MEMBER, "change schedules"),
    "schedule.delete": (Role.MEMBER, "delete schedules"),
    "schedule.run": (Role.MEMBER, "run schedules"),
    "token.write": (Role.MEMBER, "create API tokens that can write"),
    "member.invite": (Role.ADMIN, "invite people"),
    "member.change": (Role.ADMIN, "change members' roles"),
    "member.remove": (Role.ADMIN, "remove members"),
    "settings.change": (Role.ADMIN, "change the workspace's settings"),
    "audit.read": (Role.ADMIN, "read the audit log"),
    "workspace.delete": (Role.OWNER, "delete the workspace"),
    "workspace.transfer": (Role.OWNER, "transfer ownership"),
    "workspace.security": (Role.OWNER, "require two-factor log-in"),
}

# what a read-only API token may do: nothing of ACTIONS
READ, WRITE = "read", "write"
SCOPES = (READ, WRITE)


def allows(role: Role, action: str) -> bool:
    least, _words = ACTIONS[action]
    return role.rank <= least.rank


def refusal(role: Role, action: str) -> str:
    return f"{role.label}s cannot {ACTIONS[action][1]}."


def table() -> list[tuple[str, dict[Role, bool]]]:
    """Each action in words with who may do it (the account pages' table)."""
    return [(words.capitalize(), {role: allows(role, action) for role in Role})
            for action, (_least, words) in ACTIONS.items()]
