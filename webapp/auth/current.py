"""Who is acting, and in which workspace: an Actor is a person with their
role in one workspace (and, through the API, their token's scope). Views
take it from actor(); services scope every query to actor.workspace_id and
ask actor.require(action) before they change anything."""
from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa
from flask import g

from ..enums import Role
from ..errors import Forbidden
from ..extensions import db
from ..models import Membership, User, Workspace
from ..workspaces import roles


@dataclass(frozen=True)
class Actor:
    user: User
    workspace: Workspace
    role: Role
    scope: str = roles.WRITE  # an API token's; a session may do what its role may
    via: str = "web"  # web | api | system

    @property
    def workspace_id(self) -> int:
        return self.workspace.id

    @property
    def user_id(self) -> int:
        return self.user.id

    def may(self, action: str) -> bool:
        return self.scope == roles.WRITE and roles.allows(self.role, action)

    def require(self, action: str) -> None:
        if self.scope != roles.WRITE:
            raise Forbidden("This API token is read-only: create a token with the write "
                            "scope on your account page.")
        if not roles.allows(self.role, action):
            raise Forbidden(roles.refusal(self.role, action))

    def at(self, workspace_id: int | None) -> Actor | None:
        """This person acting in the workspace an object belongs to, or None
        if they are not a member there. A page link works whatever the
        current workspace is; an API token opens its own workspace only."""
        if workspace_id == self.workspace.id:
            return self
        if workspace_id is None or self.via == "api":
            return None
        membership = db.session.get(Membership, (workspace_id, self.user.id))
        if membership is None:
            return None
        return replace(self, workspace=membership.workspace, role=membership.role)

    def sees(self, row) -> bool:
        return row is not None and self.at(row.workspace_id) is not None


def as_actor(who: Actor | User) -> Actor:
    """Services take an Actor; a bare User (the CLI, scripts, the benches)
    acts in the oldest workspace they belong to, with their role there."""
    if isinstance(who, Actor):
        return who
    membership = db.session.scalar(
        sa.select(Membership).where(Membership.user_id == who.id)
        .order_by(Membership.created_at, Membership.workspace_id).limit(1))
    if membership is None:
        raise Forbidden(f"{who.email} is in no workspace.")
    return Actor(who, membership.workspace, membership.role, via="system")


def actor() -> Actor:
    """The request's actor, set by webapp/security.py before the view runs."""
    return g.actor


def visible(stmt, model, who: Actor):
    """Restrict a SELECT to the rows of `who`'s current workspace."""
    return stmt.where(model.workspace_id == who.workspace_id)
