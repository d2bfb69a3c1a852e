"""`flask` commands."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import click
from flask import Flask

from .extensions import db
from .models import Order, OrderItem, OrderStatus

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


def make_demo_orders(count: int, max_items: int = 8, seed: int | None = None,
                     days: int = 90) -> int:
    """Insert `count` realistic orders over the last `days` days; returns items added."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    statuses = [OrderStatus.COMPLETED] * 6 + [OrderStatus.OPEN] * 3 + [OrderStatus.CANCELLED]
    added = 0
    for _ in range(count):
        created = now - dt.timedelta(minutes=rng.randrange(days * 24 * 60))
        order = Order(customer=rng.choice(CUSTOMERS), status=rng.choice(statuses),
                      created_at=created, updated_at=created)
        for product, price in rng.sample(PRODUCTS, rng.randint(1, min(max_items, len(PRODUCTS)))):
            order.items.append(OrderItem(product=product, quantity=rng.randint(1, 40),
                                         unit_price=Decimal(price)))
        order.recompute_totals()
        added += len(order.items)
        db.session.add(order)
    db.session.commit()
    return added


def register_cli(app: Flask) -> None:
    @app.cli.command("demo-data")
    @click.option("--orders", "count", default=200, show_default=True, type=click.IntRange(1))
    @click.option("--seed", type=int, default=None, help="Repeatable data.")
    def demo_data(count: int, seed: int | None):
        """Fill the database with realistic demo orders."""
        items = make_demo_orders(count, seed=seed)
        click.echo(f"Added {count} orders with {items} line items.")
