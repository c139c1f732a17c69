"""What the shop sells and the discount codes that lower its price."""

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from models.base import BaseModel, utcnow


class Package(BaseModel):
    package_id = CharField(primary_key=True)
    name = CharField()
    description = TextField()
    price_idr = IntegerField()
    active = BooleanField()
    created_at = DateTimeTZField()
    content_url = TextField(null=True)
    lessons = BinaryJSONField(default=list)

    class Meta:
        table_name = "packages"


class DiscountCode(BaseModel):
    code = CharField(primary_key=True)
    package = ForeignKeyField(Package, column_name="package_id", null=True)
    percent_off = IntegerField(null=True)
    amount_off = IntegerField(null=True)
    active = BooleanField(default=True)
    valid_from = DateTimeTZField(null=True)
    valid_until = DateTimeTZField(null=True)
    max_uses = IntegerField(null=True)
    created_at = DateTimeTZField(default=utcnow)

    class Meta:
        table_name = "discount_codes"


def listed_packages() -> list[Package]:
    """Every package, in id order, as the operator lists them."""
    return list(Package.select().order_by(Package.package_id))
