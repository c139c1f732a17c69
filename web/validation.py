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


NAME_MAX_LENGTH = 60
NAME_MAX_DIGITS = 3
# What a name is made of: letters of any script with their marks, spaces, and the apostrophes,
# hyphens, dots and commas of "Moh. Rizki", "Ma'ruf", "Siti-Aisyah", "Rina, S.Pd.". Anything
# else (`@`, `/`, `:`, ...) can only serve a link or an address in the messages that greet
# the customer by name.
_NAME_PUNCTUATION = frozenset(" '\u2019.,-")
# A web address without its scheme: a word of 2+ characters, a dot, 2+ letters (`bit.ly`,
# `evil.example`); an initial ("M.Rizki", "S.Pd") is one letter before its dot.
_DOMAIN_LIKE = re.compile(r"(?:www\.|[^\W_]{2,}\.[^\W\d_]{2,})", re.IGNORECASE)
_LINK_CHARACTERS = frozenset("@:/\\")  # an address, a scheme (`https:`, `wa:`), a path
_LINK_IN_NAME = (
    "Nama tidak boleh berisi tautan, alamat situs, atau alamat email. Untuk singkatan, beri "
    'spasi setelah titik (misalnya "Moh. Rizki").'
)


def clean_name(value: object) -> str:
    """The name every message greets the customer with, so it must not carry a link, an
    address or a number a stranger could use to make the shop speak for them."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidField("Nama wajib diisi.")
    if any(unicodedata.category(char).startswith("C") for char in value.strip(" ")):
        raise InvalidField("Nama berisi karakter yang tidak diizinkan.")
    name = " ".join(unicodedata.normalize("NFKC", value).split())
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidField(f"Nama paling banyak {NAME_MAX_LENGTH} karakter.")
    if _LINK_CHARACTERS.intersection(name) or _DOMAIN_LIKE.search(name):
        raise InvalidField(_LINK_IN_NAME)
    if sum(char.isdigit() for char in name) > NAME_MAX_DIGITS:
        raise InvalidField(f"Nama tidak boleh berisi lebih dari {NAME_MAX_DIGITS} angka.")
    if not all(char.isalnum() or _is_mark(char) or char in _NAME_PUNCTUATION for char in name):
        raise InvalidField("Nama berisi karakter yang tidak diizinkan.")
    return name


def _is_mark(char: str) -> bool:
    """Combining marks complete letters in many scripts (Balinese, Javanese, accents)."""
    return unicodedata.category(char).startswith("M")


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
