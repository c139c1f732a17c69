"""Snap's request validation, as strict as Midtrans so client bugs show up before production."""

import re

ORDER_ID_PATTERN = re.compile(r"[A-Za-z0-9\-_~.]+")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_ORDER_ID_LENGTH = 50
MAX_ITEM_NAME_LENGTH = 50


def is_integer(value: object) -> bool:
    """JSON integers only: IDR has no decimals, so 99000.5, 99000.0 and '99000' are refused."""
    return isinstance(value, int) and not isinstance(value, bool)


def snap_errors(body: object) -> list[str]:
    """Midtrans-style error messages for a Snap create body; empty when it is acceptable."""
    if not isinstance(body, dict):
        return ["Request body is not a valid JSON object"]
    details = body.get("transaction_details")
    if not isinstance(details, dict):
        return ["transaction_details is required"]
    errors = _order_id_errors(details.get("order_id")) + _amount_errors(details.get("gross_amount"))
    errors += _items_errors(body.get("item_details"), details.get("gross_amount"))
    return errors + _customer_errors(body.get("customer_details"))


def _order_id_errors(order_id: object) -> list[str]:
    if not isinstance(order_id, str) or not order_id:
        return ["transaction_details.order_id is required"]
    if len(order_id) > MAX_ORDER_ID_LENGTH:
        return ["transaction_details.order_id too long, maximum is 50 characters"]
    if not ORDER_ID_PATTERN.fullmatch(order_id):
        return ["transaction_details.order_id may only contain alphanumeric, -, _, ~ and ."]
    return []


def _amount_errors(gross_amount: object) -> list[str]:
    if gross_amount is None:
        return ["transaction_details.gross_amount is required"]
    if not is_integer(gross_amount):
        return ["transaction_details.gross_amount must be an integer"]
    if gross_amount < 1:
        return ["transaction_details.gross_amount must be greater than or equal to 1"]
    return []


def _items_errors(items: object, gross_amount: object) -> list[str]:
    """Each item must be well formed, and together they must add up to gross_amount exactly."""
    if items is None:
        return []
    if not isinstance(items, list):
        return ["item_details must be an array"]
    errors = [error for item in items for error in _item_errors(item)]
    if errors or not is_integer(gross_amount):
        return errors
    total = sum(item["price"] * item["quantity"] for item in items)
    if total != gross_amount:
        return ["transaction_details.gross_amount is not equal to the sum of item_details"]
    return []


def _item_errors(item: object) -> list[str]:
    if not isinstance(item, dict):
        return ["item_details must contain objects"]
    errors = []
    if not is_integer(item.get("price")):
        errors.append("item_details.price must be an integer")
    if not is_integer(item.get("quantity")):
        errors.append("item_details.quantity must be an integer")
    elif item["quantity"] < 1:
        errors.append("item_details.quantity must be greater than or equal to 1")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        errors.append("item_details.name is required")
    elif len(name) > MAX_ITEM_NAME_LENGTH:
        errors.append("item_details.name too long, maximum is 50 characters")
    return errors


def _customer_errors(customer: object) -> list[str]:
    if customer is None:
        return []
    if not isinstance(customer, dict):
        return ["customer_details must be an object"]
    email = customer.get("email")
    if email is not None and not (isinstance(email, str) and EMAIL_PATTERN.fullmatch(email)):
        return ["customer_details.email format is invalid"]
    return []
