"""Orders and the payment attempts made for them."""

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utcnow
from models.catalog import Package
from models.statuses import OrderStatus


class Order(BaseModel):
    order_id = CharField(primary_key=True)
    order_token_hash = CharField()
    package = ForeignKeyField(Package, column_name="package_id")
    customer_name = CharField()
    customer_email = CharField()
    customer_phone = CharField()
    discount_code = CharField(null=True)
    base_amount = IntegerField()
    discount_amount = IntegerField(default=0)
    final_amount = IntegerField()
    status = CharField(default=OrderStatus.CREATED)
    redirect_url = TextField(null=True)
    snap_token = CharField(null=True)
    failure_reason = TextField(null=True)
    flagged = BooleanField(default=False)
    source = CharField(default="web")
    expires_at = DateTimeTZField(null=True)
    paid_at = DateTimeTZField(null=True)
    receipt_number = CharField(null=True)  # KW/2026/000123, given once when first paid
    last_checked_at = DateTimeTZField(null=True)
    sweep_count = IntegerField(default=0)
    parked_at = DateTimeTZField(null=True)
    created_at = DateTimeTZField(default=utcnow)
    updated_at = DateTimeTZField(default=utcnow)

    class Meta:
        table_name = "orders"

    @classmethod
    def locked(cls, order_id: str) -> "Order | None":
        """The order row under SELECT ... FOR UPDATE; only meaningful inside a transaction."""
        return next(iter(cls.raw(_LOCK_ORDER_SQL, order_id)), None)


# Every state change locks its order: written out once rather than composed by peewee for each
# call, which cost more CPU than PostgreSQL spends running it.
_LOCK_ORDER_SQL = "SELECT * FROM orders WHERE order_id = %s FOR UPDATE"


class PaymentAttempt(BaseModel):
    order = ForeignKeyField(Order, column_name="order_id", backref="attempts")
    kind = CharField()
    snap_token = CharField(null=True)
    redirect_url = TextField(null=True)
    transaction_id = CharField(null=True)
    transaction_status = CharField(null=True)
    payment_type = CharField(null=True)
    detail = TextField(null=True)
    created_at = DateTimeTZField(default=utcnow)

    class Meta:
        table_name = "payment_attempts"
