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
# `evil.example`); an initial ("M.Rizki", "S.Pd") is one letter before its dot, unless what
# follows is a TLD that shorteners and link pages use (`x.com`, `t.co`, `s.id`).
_DOMAIN_LIKE = re.compile(r"(?:www\.|[^\W_]{2,}\.[^\W\d_]{2,})", re.IGNORECASE)
_LINK_TLDS = "com|co|net|org|id|ly|io|me|to|gl|gd|link|xyz|app|dev|info|biz|site|online|cc|tk|ws"
_ONE_LETTER_DOMAIN = re.compile(rf"(?<![^\W_])[^\W_]\.(?:{_LINK_TLDS})(?![^\W_])", re.IGNORECASE)
# Characters that look like a dot between two words, so "evil\ua4f8com" reads as "evil.com".
_LOOKALIKE_DOTS = (
    "\u00b7\u0387\u06d4\u0701\u0702\u2022\u2024\u2027\u2219\u22c5"
    "\u2e33\u3002\u30fb\ua4f8\ua60e\ufe52\uff0e\uff61\uff65"
)
_AS_DOTS = str.maketrans(dict.fromkeys(_LOOKALIKE_DOTS, "."))
# Code points that show nothing (Unicode's default-ignorable ones beyond format characters):
# placed inside "evil.com" they hide the address from a filter but not from the reader.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
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
    _refuse_hidden_characters(value.strip(" "))
    name = " ".join(unicodedata.normalize("NFKC", value).split())
    _refuse_hidden_characters(name)  # NFKC turns some look-alikes into fillers (U+FFA0)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidField(f"Nama paling banyak {NAME_MAX_LENGTH} karakter.")
    if _looks_like_a_link(name):
        raise InvalidField(_LINK_IN_NAME)
    if sum(char.isdigit() for char in name) > NAME_MAX_DIGITS:
        raise InvalidField(f"Nama tidak boleh berisi lebih dari {NAME_MAX_DIGITS} angka.")
    for char in name:
        if not (char.isalnum() or _is_mark(char) or char in _NAME_PUNCTUATION):
            raise InvalidField(f"Nama tidak boleh berisi karakter '{char}'.")
    return name


def _refuse_hidden_characters(text: str) -> None:
    """Control, format and other invisible characters, named by code point (they cannot be
    shown in the message)."""
    for char in text:
        if unicodedata.category(char).startswith("C") or _is_invisible(char):
            raise InvalidField(
                f"Nama berisi karakter tak terlihat (U+{ord(char):04X}) yang tidak diizinkan."
            )


def _is_invisible(char: str) -> bool:
    code = ord(char)
    return any(first <= code <= last for first, last in _INVISIBLE_RANGES)


def _looks_like_a_link(name: str) -> bool:
    """The name as a reader sees it: accents and other marks dropped (a mark after a dot must
    not split "evil.com"), look-alike dots read as dots."""
    decomposed = unicodedata.normalize("NFKD", name)
    skeleton = "".join(char for char in decomposed if not _is_mark(char)).translate(_AS_DOTS)
    return bool(
        _LINK_CHARACTERS.intersection(skeleton)
        or _DOMAIN_LIKE.search(skeleton)
        or _ONE_LETTER_DOMAIN.search(skeleton)
    )


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
