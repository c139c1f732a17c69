"""Raw Midtrans notifications as received, each stored once by its idempotency key."""

from peewee import BooleanField, CharField, TextField
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from models.base import BaseModel, utcnow


class PaymentEvent(BaseModel):
    idempotency_key = CharField(unique=True)
    order_id = CharField()
    transaction_id = CharField(null=True)
    transaction_status = CharField()
    fraud_status = CharField(null=True)
    status_code = CharField(null=True)
    gross_amount = CharField(null=True)
    payment_type = CharField(null=True)
    source = CharField(default="webhook")
    raw = BinaryJSONField()
    verified_status = CharField(null=True)
    processed = BooleanField(default=False)
    processed_at = DateTimeTZField(null=True)
    outcome = CharField(null=True)
    flag_reason = TextField(null=True)
    received_at = DateTimeTZField(default=utcnow)

    class Meta:
        table_name = "payment_events"
