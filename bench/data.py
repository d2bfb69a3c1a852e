"""Benchmark data: N line items (100 per order) for one bench user per size, all
orders "completed" and dated in 2025, inserted with SQLAlchemy Core.

Each size has its own owner (``bench-<items>@bench.example``), so one database
holds every size and a user's summary report covers exactly that size. The data
is generated from a fixed seed, so SQLite and PostgreSQL hold the same rows.

Names are mostly Latin (some with accents) with a share of Greek, Turkish,
Cyrillic and CJK text; CJK is the share that DejaVu Sans cannot draw and the
PDF generator has to send through fpdf2's fallback-font path."""
from __future__ import annotations

import datetime as dt
import math
import random
import time
from decimal import Decimal

import sqlalchemy as sa

from .common import DATE_FROM, DATE_TO, ITEMS_PER_ORDER, PASSWORD, ROOT

# --- name pools ---------------------------------------------------------------------

_LATIN_CUSTOMER_HEADS = [
    "Acme", "Globex", "Initech", "Nordwind", "Blue River", "Summit", "Harbor", "Pioneer",
    "Evergreen", "Silverline", "Redwood", "Ironbridge", "Northstar", "Brightwater", "Oakridge",
    "Westfield", "Crescent", "Falcon", "Granite", "Maple Leaf", "Riverside", "Sunrise",
    "Copperfield", "Lakeside", "Highland", "Stonegate", "Wayne", "Umbrella", "Stark", "Tata",
]
_LATIN_CUSTOMER_TAILS = [
    "Corporation", "Ltd", "GmbH", "Inc.", "LLC", "S.A.", "B.V.", "AS", "Oy", "& Co.",
    "Trading", "Supplies", "Logistics", "Industries", "Partners", "Foods", "Retail",
]
_ACCENTED_CUSTOMERS = [
    "Café Lumière", "Müller & Söhne", "Søren's Bikes", "Compañía Andina", "Boulangerie Élodie",
    "Łódź Logistyka", "Brasserie Château", "Fjällräven Outlet", "Crème de la Crème SARL",
    "São Paulo Importação", "Kaffeehaus Größl", "Ørsted Værksted",
]
_GREEK_CUSTOMERS = ["Ελληνικά Τρόφιμα ΑΕ", "Αθηναϊκή Εμπορική", "Θεσσαλονίκη Διανομές",
                    "Κρητικό Ελαιόλαδο ΟΕ", "Αιγαίο Ναυτιλιακή"]
_TURKISH_CUSTOMERS = ["Ürün Ticaret A.Ş.", "Öztürk Gıda", "Çelik Yapı Ltd. Şti.",
                      "Işık Tekstil", "Güneş Enerji A.Ş."]
_CYRILLIC_CUSTOMERS = ["ООО Ромашка", "Северная Торговля", "Байкал Снаб", "Волга Логистик"]
_CJK_CUSTOMERS = ["日本茶センター", "株式会社さくら", "上海贸易有限公司", "東京文具店"]

_LATIN_PRODUCTS = [
    "Espresso beans", "Café crème pods", "Oak desk", "Office chair", "USB-C cable",
    "Printer paper A4", 'Monitor 27"', "Keyboard, ergonomic", "Stapler", "Whiteboard markers",
    "Laptop stand", "Noise-cancelling headset", "Green tea", "Notebook, dotted", "Ballpoint pens",
    "Desk lamp", "Coffee mug", "Water bottle", "Backpack", "Mouse pad", "Crème brûlée kit",
    "Jalapeño sauce", "Smørrebrød board", "Filing cabinet", "Label printer", "HDMI adapter",
]
_LATIN_BRANDS = ["", "Acme ", "Nordic ", "Urban ", "Pro ", "Eco ", "Classic ", "Studio "]
_VARIANTS = ["", " (pack of 10)", " 1 kg", " 500 g", " – blue", " – black", ", premium", " XL",
             " 2 m", " (refill)"]
_OTHER_PRODUCTS = {
    "greek": ["Ελαιόλαδο 1 L", "Μέλι θυμαρίσιο 500 g", "Φέτα ΠΟΠ 400 g", "Ελιές Καλαμών",
              "Τσάι του βουνού", "Ελληνικά βότανα"],
    "turkish": ["Ürün kataloğu", "Türk kahvesi 250 g", "Lokum çeşitleri", "Çay bardağı (6'lı)",
                "Fındık ezmesi", "Şal, ipek"],
    "cyrillic": ["Чай чёрный 100 г", "Гречка 900 г", "Блокнот А5", "Мёд липовый"],
    "cjk": ["日本茶 100 g", "Sencha 日本茶 100 g", "抹茶 30 g", "緑茶ティーバッグ", "乌龙茶 250 g",
            "文房具セット"],
}
# Text that a spreadsheet would run as a formula (the CSV writer must prefix it).
_DANGEROUS_PRODUCTS = ["-20% clearance bundle", "+1 spare battery", "@home cleaning kit",
                       "=SUM(A1:A2) test item"]
_LONG_PRODUCT = ("Heavy-duty industrial shelving unit with five adjustable steel shelves, "
                 "galvanised finish, assembly kit and wall anchors included")

# Share of each script among product names (and, roughly, customers).
PRODUCT_MIX = {"latin": 0.855, "greek": 0.04, "turkish": 0.04, "cyrillic": 0.03, "cjk": 0.03,
               "dangerous": 0.003, "long": 0.002}


def _customers(rng: random.Random, n: int = 600) -> list[str]:
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.80:
            name = f"{rng.choice(_LATIN_CUSTOMER_HEADS)} {rng.choice(_LATIN_CUSTOMER_TAILS)}"
        elif r < 0.88:
            name = rng.choice(_ACCENTED_CUSTOMERS)
        elif r < 0.92:
            name = rng.choice(_GREEK_CUSTOMERS)
        elif r < 0.95:
            name = rng.choice(_TURKISH_CUSTOMERS)
        elif r < 0.98:
            name = rng.choice(_CYRILLIC_CUSTOMERS)
        else:
            name = rng.choice(_CJK_CUSTOMERS)
        out.append(f"{name} #{i + 1}" if rng.random() < 0.5 else name)
    return out


def _catalog(rng: random.Random, n: int = 3000) -> list[tuple[str, Decimal]]:
    """(product name, unit price) pairs; a product keeps its price."""
    kinds = list(PRODUCT_MIX)
    weights = [PRODUCT_MIX[k] for k in kinds]
    out = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        if kind == "latin":
            name = (f"{rng.choice(_LATIN_BRANDS)}{rng.choice(_LATIN_PRODUCTS)}"
                    f"{rng.choice(_VARIANTS)}")
        elif kind == "dangerous":
            name = rng.choice(_DANGEROUS_PRODUCTS)
        elif kind == "long":
            name = _LONG_PRODUCT
        else:
            name = rng.choice(_OTHER_PRODUCTS[kind]) + rng.choice(["", "", " (2 pcs)", " – gift"])
        if rng.random() < 0.3:
            name = f"{name} · SKU {1000 + i}"
        cents = int(rng.lognormvariate(7.3, 1.2))  # median ~15.00, long tail
        price = Decimal(max(50, min(cents, 999_999))) / 100
        out.append((name, price))
    return out


def generate(items: int, first_order_id: int, workspace_id: int, seed: int = 20251):
    """Yield (orders, items) chunks of dicts for Core insert(); deterministic per seed."""
    from webapp.orders.validation import search_key

    rng = random.Random(seed)
    customers = _customers(rng)
    keys = {name: search_key(name) for name in customers}  # orders.customer_key, as the app
    catalog = _catalog(rng)
    n_orders = math.ceil(items / ITEMS_PER_ORDER)
    start = dt.datetime.combine(DATE_FROM, dt.time(), tzinfo=dt.UTC)
    span = (dt.datetime.combine(DATE_TO, dt.time(), tzinfo=dt.UTC)
            + dt.timedelta(days=1) - start).total_seconds()
    step = span / n_orders
    left = items
    orders: list[dict] = []
    lines: list[dict] = []
    for k in range(n_orders):
        order_id = first_order_id + k
        # ids follow time, as in real life; whole seconds, strictly inside the range
        created = start + dt.timedelta(seconds=int(step * k + rng.random() * step * 0.9))
        count = min(ITEMS_PER_ORDER, left)
        left -= count
        total = Decimal("0.00")
        units = 0
        for _ in range(count):
            product, price = rng.choice(catalog)
            qty = min(10_000, int(rng.paretovariate(1.5)))
            total += qty * price
            units += qty
            lines.append({"order_id": order_id, "product": product, "quantity": qty,
                          "unit_price": price})
        customer = rng.choice(customers)
        orders.append({"id": order_id, "workspace_id": workspace_id, "customer": customer,
                       "customer_key": keys[customer], "status": "completed",
                       "created_at": created, "updated_at": created,
                       "item_count": count, "units": units, "total": total})
        if len(lines) >= 50_000:
            yield orders, lines
            orders, lines = [], []
    if orders:
        yield orders, lines


# --- building -----------------------------------------------------------------------

def migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))


def owner_email(items: int) -> str:
    return f"bench-{items}@bench.example"


def bench_user(items: int):
    """The user owning the data of this size (created if missing). Needs an app context."""
    from webapp.auth.services import create_user
    from webapp.extensions import db
    from webapp.models import User

    user = db.session.scalar(sa.select(User).where(User.email == owner_email(items)))
    return user or create_user(owner_email(items), PASSWORD)


def count_items(conn, workspace_id: int) -> tuple[int, int]:
    from webapp.models import Order, OrderItem

    orders = conn.scalar(sa.select(sa.func.count()).select_from(Order)
                         .where(Order.workspace_id == workspace_id))
    items = conn.scalar(sa.select(sa.func.count()).select_from(OrderItem)
                        .join(Order, Order.id == OrderItem.order_id)
                        .where(Order.workspace_id == workspace_id))
    return orders or 0, items or 0


def ensure_data(app, items: int, rebuild: bool = False, say=print) -> dict:
    """Make sure the bench user of this size owns exactly `items` line items.
    Returns {"workspace_id", "built": bool, "seconds"}; needs no app context."""
    from webapp.extensions import db
    from webapp.models import Order, OrderItem
    from webapp.orders.bulk import order_rows

    with app.app_context():
        user = bench_user(items)
        workspace_id = user.id
        engine = db.engine
        with engine.connect() as conn:
            n_orders, n_items = count_items(conn, workspace_id)
        want_orders = math.ceil(items / ITEMS_PER_ORDER)
        if not rebuild and n_items == items and n_orders == want_orders:
            return {"workspace_id": workspace_id, "built": False, "seconds": 0.0}
        t0 = time.perf_counter()
        orders_t, items_t = Order.__table__, OrderItem.__table__
        with engine.begin() as conn:
            mine = sa.select(orders_t.c.id).where(orders_t.c.workspace_id == workspace_id)
            conn.execute(sa.delete(items_t).where(items_t.c.order_id.in_(mine)))
            conn.execute(sa.delete(orders_t).where(orders_t.c.workspace_id == workspace_id))
            first = (conn.scalar(sa.select(sa.func.max(orders_t.c.id))) or 0) + 1
            done = 0
            for chunk, item_rows in generate(items, first, workspace_id):
                # customers as records, numbers, order dates: as the services fill them
                conn.execute(sa.insert(orders_t), order_rows(conn, chunk))
                conn.execute(sa.insert(items_t), item_rows)
                done += len(item_rows)
                if done % 200_000 < len(item_rows):
                    say(f"  … {done:,} of {items:,} items")
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('orders', 'id'), "
                                     "(SELECT max(id) FROM orders))"))
            # Core inserts bypass the ORM hook that keeps product_months in step
            from webapp.orders.rollup import rebuild

            rebuild(conn, workspace_id)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("ANALYZE orders"))
                conn.execute(sa.text("ANALYZE order_items"))
            else:
                conn.execute(sa.text("ANALYZE"))
        with engine.connect() as conn:
            n_orders, n_items = count_items(conn, workspace_id)
        if n_items != items or n_orders != want_orders:
            raise RuntimeError(f"built {n_items} items / {n_orders} orders, wanted {items}")
        return {"workspace_id": workspace_id, "built": True, "seconds": time.perf_counter() - t0}
