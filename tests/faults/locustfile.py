"""Load for the fault suite: people creating orders, asking for reports and
watching the status badge, as the pages and the API do."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import re

from locust import HttpUser, between, task

TODAY = dt.date.today()
# "email password token" per line, written by the test that starts locust
with open(os.environ["LOAD_ACCOUNTS"]) as _f:
    ACCOUNTS = itertools.cycle([line.split() for line in _f.read().splitlines() if line])


class ReportUser(HttpUser):
    wait_time = between(0.5, 2)

    def on_start(self):
        self.orders: list[int] = []
        self.jobs: list[int] = []
        email, password, token = next(ACCOUNTS)
        self.client.headers["Authorization"] = f"Bearer {token}"  # for /api
        page = self.client.get("/login", name="GET /login").text  # and a session for pages
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        self.client.post("/login", data={"email": email, "password": password,
                                         "csrf_token": csrf}, name="POST /login")

    @task(3)
    def create_order(self):
        items = [{"product": random.choice(["Tea", "Café crème", "日本茶", "Ürün", "Ελιές"]),
                  "quantity": random.randint(1, 50),
                  "unit_price": f"{random.randint(1, 9999) / 100:.2f}"}
                 for _ in range(random.randint(1, 20))]
        resp = self.client.post("/api/orders", json={"customer": f"Load {random.randint(1, 30)}",
                                                     "items": items}, name="POST /api/orders")
        if resp.status_code == 201:
            order = resp.json()
            self.orders.append(order["id"])
            self.client.patch(f"/api/orders/{order['id']}", json={"status": "completed"},
                              name="PATCH /api/orders/[id]")

    @task(2)
    def request_report(self):
        if self.orders and random.random() < 0.7:
            body = {"kind": "order", "order_id": random.choice(self.orders),
                    "format": random.choice(["csv", "pdf"])}
        else:
            start = TODAY - dt.timedelta(days=random.randint(0, 30))
            body = {"kind": "summary", "format": random.choice(["csv", "pdf"]),
                    "date_from": start.isoformat(), "date_to": TODAY.isoformat()}
        resp = self.client.post("/api/reports", json=body, name="POST /api/reports")
        if resp.status_code in (200, 202):
            self.jobs.append(resp.json()["id"])

    @task(6)
    def poll_status(self):
        if self.jobs:
            job_id = random.choice(self.jobs[-5:])
            self.client.get(f"/reports/{job_id}/status", name="GET /reports/[id]/status")

    @task(1)
    def browse(self):
        self.client.get("/orders/", name="GET /orders/")
