"""`flask` commands."""
from __future__ import annotations

import datetime as dt
import os
import random
import secrets
from decimal import Decimal
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app

from .auth.current import as_actor
from .auth.services import create_user, normalise_email, set_password
from .crypto import TOTP_SECRETS, reencrypt_column
from .customers.services import find_or_create
from .errors import DomainError
from .extensions import db
from .models import Order, OrderItem, OrderStatus, User, utcnow
from .orders.bulk import take_numbers
from .timezones import local, zone_of

CUSTOMERS = [
    "ACME Corporation", "Globex GmbH", "Initech", "Café Lumière", "Ürün Ticaret A.Ş.",
    "Ελληνικά Τρόφιμα ΑΕ", "日本茶センター", "Müller & Söhne", "Nordic Fish AS", "Søren's Bikes",
    "Compañía Andina", "Tata Supplies", "Wayne Enterprises", "Umbrella Ltd", "Stark Industries",
]
PRODUCTS = [
    ("Espresso beans 1 kg", "18.90"), ("Café crème pods (50)", "12.50"),
    ("Sencha 日本茶 100 g", "9.80"),
    ("Oak desk", "349.00"), ("Office chair", "189.99"), ("USB-C cable 2 m", "7.49"),
    ("Printer paper A4 (500)", "5.25"), ("Ürün kataloğu", "3.00"), ("Ελαιόλαδο 1 L", "11.40"),
    ("Monitor 27\"", "229.00"), ("Keyboard, ergonomic", "79.95"), ("Stapler", "6.10"),
    ("Whiteboard markers (4)", "4.75"), ("Laptop stand", "39.00"),
    ("Noise-cancelling headset", "129.00"),
]


DEMO_EMAIL = "demo@example.com"


def demo_user() -> tuple[User, str | None]:
    """The demo account, created if missing with a random password. The password
    is kept in instance/ (local, never committed) so every `make run` can say it;
    the setting DEMO_PASSWORD_FILE (env FLASK_DEMO_PASSWORD_FILE) puts it
    elsewhere, e.g. beside a test's own database."""
    saved = Path(current_app.config.get("DEMO_PASSWORD_FILE")
                 or Path(current_app.instance_path) / "demo-password.txt")
    user = db.session.scalar(sa.select(User).where(User.email == DEMO_EMAIL))
    if user is not None:
        return user, saved.read_text().strip() if saved.is_file() else None
    password = secrets.token_urlsafe(12)
    user = create_user(DEMO_EMAIL, password)
    # private from the first byte: created 0600, never readable by others
    saved.unlink(missing_ok=True)
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return user, password


def make_demo_orders(owner: User, count: int, max_items: int = 8, seed: int | None = None,
                     days: int = 90) -> int:
    """Insert `count` realistic orders dated over the last `days` days into
    the oldest workspace of `owner` (standard and reduced tax rates, some
    discounts and shipping); returns items added."""
    actor = as_actor(owner)
    workspace_id = actor.workspace_id
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    zone = zone_of(owner)
    statuses = [OrderStatus.COMPLETED] * 6 + [OrderStatus.OPEN] * 3 + [OrderStatus.CANCELLED]
    records = {name: find_or_create(actor, name) for name in CUSTOMERS}
    first, prefix = take_numbers(db.session.connection(), workspace_id, count)
    currency = actor.workspace.currency
    added = 0
    for n in range(count):
        created = now - dt.timedelta(minutes=rng.randrange(days * 24 * 60))
        customer = records[rng.choice(CUSTOMERS)]
        order = Order(workspace_id=workspace_id, created_by_id=owner.id,
                      customer_id=customer.id, customer=customer.name,
                      number=f"{prefix}{first + n:06d}", order_date=local(created, zone).date(),
                      status=rng.choice(statuses), created_at=created, updated_at=created,
                      shipping=Decimal(rng.choice(["0", "0", "4.90", "9.90"])),
                      shipping_tax_rate=Decimal(19))
        for product, price in rng.sample(PRODUCTS, rng.randint(1, min(max_items, len(PRODUCTS)))):
            order.items.append(OrderItem(
                product=product, quantity=rng.randint(1, 40), unit_price=Decimal(price),
                tax_rate=Decimal(rng.choice([19, 19, 19, 7])),
                discount_rate=Decimal(rng.choice([0, 0, 0, 0, 5, 10]))))
        order.recompute_totals(currency)
        added += len(order.items)
        db.session.add(order)
    db.session.commit()
    return added


def register_cli(app: Flask) -> None:
    @app.cli.command("demo-data")
    @click.option("--orders", "count", default=200, show_default=True, type=click.IntRange(1))
    @click.option("--seed", type=int, default=None, help="Repeatable data.")
    def demo_data(count: int, seed: int | None):
        """Fill the database with realistic demo orders, owned by the demo user."""
        user, password = demo_user()
        items = make_demo_orders(user, count, seed=seed)
        click.echo(f"Added {count} orders with {items} line items for {user.email}.")
        _say_login(user, password)

    @app.cli.command("demo-user")
    def demo_user_command():
        """Make sure the demo account exists and say how to log in."""
        user, password = demo_user()
        _say_login(user, password)

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--site-admin", "site_admin", is_flag=True,
                  help="May see the operator's details (health errors, which worker ran a "
                       "job); opens no workspace's data.")
    @click.option("--reset", is_flag=True, help="Set a new password for an existing user.")
    @click.option("--verified", is_flag=True,
                  help="The operator vouches for the address: reports may be e-mailed to it "
                       "without a verification link.")
    @click.password_option(help="Prompted for when not given.")
    def create_user_command(email: str, site_admin: bool, reset: bool, verified: bool,
                            password: str):
        """Create an account (or with --reset, set a new password)."""
        try:
            if reset:
                user = db.session.scalar(sa.select(User).where(
                    User.email == normalise_email(email)))
                if user is None:
                    raise click.ClickException(f"No user {email}.")
                set_password(user, password)
                if site_admin:
                    user.site_admin = True
                if verified and user.email_verified_at is None:
                    user.email_verified_at = utcnow()
                db.session.commit()
                click.echo(f"Password of {user.email} changed.")
                return
            user = create_user(email, password, site_admin=site_admin, verified=verified)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"Created {'site admin ' if user.site_admin else ''}{user.email}.")

    @app.cli.command("rotate-secrets")
    def rotate_secrets_command():
        """Re-encrypt every stored webhook secret and two-factor secret with
        the current SECRET_KEY.

        Run it after a key rotation (new SECRET_KEY, the old one in
        SECRET_KEY_FALLBACKS); once it reports nothing unreadable, the old key
        may leave SECRET_KEY_FALLBACKS as far as stored secrets go."""
        with db.engine.begin() as conn:
            hooks = reencrypt_column(conn, "schedules", "webhook_secret")
            totp = reencrypt_column(conn, "users", "totp_secret", purpose=TOTP_SECRETS)
        click.echo(f"Webhook secrets: {hooks.rotated} re-encrypted with the current key, "
                   f"{hooks.current} already under it.")
        click.echo(f"Two-factor secrets: {totp.rotated} re-encrypted with the current key, "
                   f"{totp.current} already under it.")
        problems = []
        if hooks.unreadable:
            problems.append(
                f"{len(hooks.unreadable)} webhook secret(s) open with no key (schedules "
                f"{_ids(hooks.unreadable)}): put the key they were made with in "
                "SECRET_KEY_FALLBACKS and run this again, or give those schedules a new "
                "secret (rotate_secret).")
        if totp.unreadable:
            problems.append(
                f"{len(totp.unreadable)} two-factor secret(s) open with no key (users "
                f"{_ids(totp.unreadable)}): put the key they were made with in "
                "SECRET_KEY_FALLBACKS and run this again; else those users cannot give a "
                "code and log in with a recovery code, then turn two-factor log-in off "
                "and on again.")
        if problems:
            raise click.ClickException(" ".join(problems))


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids[:20]) + (", …" if len(ids) > 20 else "")


def _say_login(user: User, password: str | None) -> None:
    if password:
        click.echo(f"Log in as {user.email} with password {password}")
    else:
        click.echo(f"Log in as {user.email} (password unchanged; reset it with "
                   f"`flask create-user {user.email} --reset`)")
