"""Checkout input rules: each field gets one clear Indonesian message when it is wrong."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_DISCOUNT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{2,32}$")
_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


class InvalidField(ValueError):
    """One field's value is unusable; the message is shown to the customer."""


def clean_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField("Nama wajib diisi.")
    name = " ".join(value.split())
    if len(name) > 100:
        raise InvalidField("Nama paling banyak 100 karakter.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidField("Nama berisi karakter yang tidak diizinkan.")
    return name


def clean_email(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField("Email wajib diisi.")
    if len(value) > 254:
        raise InvalidField("Email terlalu panjang.")
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidField("Format email tidak valid.") from None


def clean_phone(value: object) -> str:
    """Any Indonesian mobile number (08..., 62..., +62...) as E.164 `+628...`."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidField("Nomor WhatsApp wajib diisi.")
    if len(value) > 32:
        raise InvalidField("Nomor WhatsApp terlalu panjang.")
    try:
        number = phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException:
        raise InvalidField("Nomor WhatsApp tidak valid.") from None
    if number.country_code != 62 or not phonenumbers.is_valid_number(number):
        raise InvalidField("Gunakan nomor seluler Indonesia yang valid (08xx atau +62).")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidField("Gunakan nomor seluler (WhatsApp), bukan telepon rumah.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_package_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField("Paket wajib dipilih.")
    return value.strip()


def clean_discount_code(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _DISCOUNT_PATTERN.match(value.strip()):
        raise InvalidField("Kode diskon tidak valid.")
    return value.strip().upper()


_CLEANERS = {
    "package_id": clean_package_id,
    "name": clean_name,
    "email": clean_email,
    "phone": clean_phone,
    "discount_code": clean_discount_code,
}


def clean_checkout(body: dict) -> tuple[dict, dict[str, str]]:
    """(clean values, errors by field); unknown fields such as an amount are ignored."""
    clean, errors = {}, {}
    for field, cleaner in _CLEANERS.items():
        try:
            clean[field] = cleaner(body.get(field))
        except InvalidField as error:
            errors[field] = str(error)
    return clean, errors
