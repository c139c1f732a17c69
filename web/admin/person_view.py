"""The console's view of what the shop holds about the person behind an order, for a customer's
access request (UU PDP Pasal 7): the same record as `./run.sh admin person show`. Read-only:
the web never writes PostgreSQL; correcting and forgetting are done with the command line."""

from __future__ import annotations

import falcon

from models.db import connection
from models.orders import Order
from models.personal_data import find_person, person_record, pseudonymised
from web.admin.params import order_id_or_404


def person_of_order(order_id: str) -> dict:
    """{order_id, forgotten, person}: `person` is None once the order was pseudonymised."""
    order_id = order_id_or_404(order_id)
    with connection():
        order = Order.get_or_none(Order.order_id == order_id)
        if order is None:
            raise falcon.HTTPNotFound(title=f"Pesanan {order_id} tidak ditemukan")
        if pseudonymised(order):
            return {"order_id": order_id, "forgotten": True, "person": None}
        person = find_person(email=order.customer_email, phone=order.customer_phone)
        return {"order_id": order_id, "forgotten": False, "person": person_record(person)}
