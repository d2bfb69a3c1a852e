"""The Team pages: members and roles, invitations, settings, switching and
creating workspaces, leaving; and the invitation link everyone opens."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from ..auth.current import actor
from ..enums import Role
from ..errors import DomainError
from ..security import switch_workspace
from . import roles, services
from .forms import DeleteForm, InviteForm, LogoForm, NewWorkspaceForm, RoleForm, SettingsForm

bp = Blueprint("workspaces", __name__, url_prefix="/team")
links = Blueprint("invitations", __name__)

PENDING_INVITATION = "invitation"  # session key: the link to come back to after log-in


@bp.app_template_global()
def my_workspaces():
    return services.memberships(current_user) if current_user.is_authenticated else []


def _errors_into(form, exc: DomainError, default: str) -> None:
    for name, messages in (exc.errors or {default: [exc.message]}).items():
        field = getattr(form, name, None) or getattr(form, default)
        field.errors = [*field.errors, *messages]


def _team(status: int = 200, **forms):
    here = actor()
    forms.setdefault("invite_form", InviteForm(formdata=None))
    forms.setdefault("new_form", NewWorkspaceForm(formdata=None))
    return render_template(
        "workspaces/team.html", members=services.members(here),
        invitations=services.invitations(here) if here.may("member.invite") else [],
        role_form=RoleForm(formdata=None), roles=list(Role), table=roles.table(),
        smtp=bool(current_app.config["SMTP_URL"]), **forms), status


@bp.get("/")
def team():
    return _team()


@bp.post("/invitations")
def invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return _team(422, invite_form=form)
    try:
        sent = services.invite(actor(), form.email.data, Role(form.role.data))
    except DomainError as exc:
        _errors_into(form, exc, "email")
        return _team(exc.status_code if exc.status_code != 400 else 422, invite_form=form)
    return _after_send(sent)


def _after_send(sent: services.Sent):
    if sent.mailed:
        flash(f"Invitation e-mailed to {sent.invitation.email}.", "success")
        return redirect(url_for(".team"), 303)
    # no mail server: the link is shown once, to copy and hand over
    flash(f"This server sends no e-mail: give {sent.invitation.email} this link yourself "
          f"(it works once, for {services.INVITATION_DAYS} days): {sent.link}", "info")
    return redirect(url_for(".team"), 303)


@bp.post("/invitations/<int:invitation_id>/resend")
def resend(invitation_id: int):
    return _after_send(services.resend(actor(), invitation_id))


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke(invitation_id: int):
    services.revoke(actor(), invitation_id)
    flash("Invitation withdrawn: its link no longer works.", "success")
    return redirect(url_for(".team"), 303)


@bp.post("/members/<int:user_id>/role")
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    member = services.change_role(actor(), user_id, Role(form.role.data))
    flash(f"{member.user.email} is now {member.role.value}.", "success")
    return redirect(url_for(".team"), 303)


@bp.post("/members/<int:user_id>/remove")
def remove(user_id: int):
    removal = services.remove_member(actor(), user_id)
    flash(removal.words(), "success")
    return redirect(url_for(".team"), 303)


@bp.post("/members/<int:user_id>/owner")
def transfer(user_id: int):
    member = services.transfer_ownership(actor(), user_id)
    flash(f"{member.user.email} is now an owner; you are an admin.", "success")
    return redirect(url_for(".team"), 303)


@bp.post("/leave")
def leave():
    name = actor().workspace.name
    removal = services.leave(actor())
    flash(f"You left {name}." + (f" {removal.words().split('. ', 1)[1]}"
                                 if removal.schedules or removal.tokens else ""), "success")
    return redirect(url_for("orders.index"), 303)


@bp.post("/switch")
def switch():
    raw = request.form.get("workspace_id", "")
    if not raw.isdigit():
        abort(400)
    switch_workspace(int(raw))
    flash(f"You are working in {actor().workspace.name}.", "success")
    return redirect(url_for("orders.index"), 303)


@bp.post("/new")
def create():
    form = NewWorkspaceForm()
    if not form.validate_on_submit():
        return _team(422, new_form=form)
    try:
        workspace = services.create_workspace(current_user, form.name.data)
    except DomainError as exc:
        _errors_into(form, exc, "name")
        return _team(422, new_form=form)
    switch_workspace(workspace.id)
    flash(f"Workspace {workspace.name} made; you own it and work in it now.", "success")
    return redirect(url_for(".team"), 303)


# --- settings -------------------------------------------------------------------------

def _settings(status: int = 200, **forms):
    workspace = actor().workspace
    forms.setdefault("form", SettingsForm(formdata=None, obj=workspace))
    forms.setdefault("logo_form", LogoForm(formdata=None))
    forms.setdefault("delete_form", DeleteForm(formdata=None))
    return render_template("workspaces/settings.html", workspace=workspace, **forms), status


@bp.get("/settings")
def settings():
    return _settings()


@bp.post("/settings")
def save_settings():
    form = SettingsForm()
    if not form.validate_on_submit():
        return _settings(422, form=form)
    try:
        services.update_settings(actor(), services.Settings(
            name=form.name.data, currency=form.currency.data,
            default_timezone=form.default_timezone.data, legal_name=form.legal_name.data,
            address=form.address.data, tax_id=form.tax_id.data,
            require_two_factor=form.require_two_factor.data,
            order_prefix=form.order_prefix.data or "",
            prices_include_tax=form.prices_include_tax.data,
            document_title=form.document_title.data))
    except DomainError as exc:
        if exc.status_code == 403:
            raise
        _errors_into(form, exc, "name")
        return _settings(422, form=form)
    flash("Settings saved.", "success")
    return redirect(url_for(".settings"), 303)


@bp.post("/settings/logo")
def save_logo():
    form = LogoForm()
    if not form.validate_on_submit():
        return _settings(422, logo_form=form)
    upload = request.files.get("logo")
    remove = request.form.get("remove") == "1"
    if not remove and (upload is None or not upload.filename):
        form.logo.errors = ["Choose a PNG or JPEG file."]
        return _settings(422, logo_form=form)
    try:
        # read one byte past the limit: enough to refuse a larger file
        services.set_logo(actor(), None if remove else
                          upload.stream.read(services.LOGO_MAX_BYTES + 1))
    except DomainError as exc:
        if exc.status_code == 403:
            raise
        form.logo.errors = [exc.message]
        return _settings(422, logo_form=form)
    flash("Logo removed." if remove else "Logo saved: documents carry it from now on.",
          "success")
    return redirect(url_for(".settings"), 303)


@bp.get("/settings/logo")
def logo():
    workspace = actor().workspace
    if not workspace.logo:
        abort(404)
    return Response(workspace.logo, mimetype=workspace.logo_type,
                    headers={"Content-Disposition": "inline"})


@bp.post("/delete")
def delete():
    form = DeleteForm()
    name = actor().workspace.name
    if not form.validate_on_submit():
        return _settings(422, delete_form=form)
    try:
        services.delete_workspace(actor(), form.confirm_name.data)
    except DomainError as exc:
        if exc.status_code == 403:
            raise
        _errors_into(form, exc, "confirm_name")
        return _settings(422, delete_form=form)
    session.pop("ws", None)
    flash(f"Workspace {name} and everything in it were deleted.", "success")
    return redirect(url_for("orders.index"), 303)


# --- the invitation link ---------------------------------------------------------------

@links.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Anyone may open it: logged out, it says who it is for and offers log-in
    or sign-up, then brings the person back here; logged in, it joins."""
    try:
        found = services.read_invitation(token)
    except DomainError as exc:
        return render_template("workspaces/invitation.html", problem=exc.message), \
            exc.status_code
    if not current_user.is_authenticated:
        session[PENDING_INVITATION] = request.path
        return render_template("workspaces/invitation.html", invitation=found)
    if request.method == "GET":
        return render_template("workspaces/invitation.html", invitation=found,
                               other=current_user.email != found.email)
    try:
        joined = services.accept(current_user, token)
    except DomainError as exc:
        return render_template("workspaces/invitation.html", problem=exc.message,
                               invitation=found), exc.status_code
    session.pop(PENDING_INVITATION, None)
    switch_workspace(joined.workspace_id)
    flash(f"Welcome to {joined.workspace.name}: you are a {joined.role.value} here.", "success")
    return redirect(url_for("orders.index"), 303)

