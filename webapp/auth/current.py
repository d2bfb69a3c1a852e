"""Who is acting in this request: the API token's user for /api, the logged-in
user for pages. Services take this user and scope every query to it."""
from __future__ import annotations

from flask import g
from flask_login import current_user

from ..models import User


def actor() -> User:
    user = g.get("api_user")
    if user is not None:
        return user
    return current_user._get_current_object()


def visible(stmt, model, user: User):
    """Restrict a SELECT to the rows `user` may see (all of them for an admin)."""
    return stmt if user.is_admin else stmt.where(model.owner_id == user.id)


def may_see(user: User, row) -> bool:
    return row is not None and (user.is_admin or row.owner_id == user.id)
