"""POST /api/checkout refuses every bad field with its own message, and limits each client."""

import threading
from dataclasses import replace
from datetime import timedelta

import dramatiq
import httpx
import pytest
import waitress

from models.base import utcnow
from models.catalog import DiscountCode
from tests.conftest import serve_app
from tests.factories import VALID_CHECKOUT, extra_package
from web.validation import InvalidField, clean_name


def _hidden(code: str) -> str:
    return f"Nama berisi karakter tak terlihat (U+{code}) yang tidak diizinkan."


LONG_EMAIL = "a" * 250 + "@example.com"

INVALID_FIELDS = [
    ("package_id", None, "Paket wajib dipilih."),
    ("package_id", "no-such-course", "Paket tidak ditemukan atau tidak dijual lagi."),
    ("name", None, "Nama wajib diisi."),
    ("name", "   ", "Nama wajib diisi."),
    ("name", "B" * 61, "Nama paling banyak 60 karakter."),
    ("name", "Budi\u0000Santoso", _hidden("0000")),
    ("name", 42, "Nama wajib diisi."),
    ("email", None, "Email wajib diisi."),
    ("email", "budi.example.com", "Format email tidak valid."),
    ("email", "budi@", "Format email tidak valid."),
    ("email", LONG_EMAIL, "Email terlalu panjang."),
    ("phone", None, "Nomor WhatsApp wajib diisi."),
    ("phone", "12345", "Gunakan nomor seluler Indonesia yang valid (08xx atau +62)."),
    ("phone", "hello", "Nomor WhatsApp tidak valid."),
    ("phone", "0" * 33, "Nomor WhatsApp terlalu panjang."),
    ("phone", "+14155552671", "Gunakan nomor seluler Indonesia yang valid (08xx atau +62)."),
    ("phone", "0215550123", "Gunakan nomor seluler (WhatsApp), bukan telepon rumah."),
    ("discount_code", "no spaces!", "Kode diskon tidak valid."),
    ("discount_code", 10, "Kode diskon tidak valid."),
    ("discount_code", "NOSUCHCODE", "Kode diskon tidak berlaku."),
]


def _enqueued_checkouts(broker) -> list[dict]:
    """The order requests waiting on the payments queue (the web's only output)."""
    stored = broker.client.hvals(f"{broker.namespace}:payments.msgs")
    return [dramatiq.Message.decode(raw).args[0] for raw in stored]


@pytest.mark.parametrize(("field", "value", "message"), INVALID_FIELDS)
def test_each_invalid_field_gets_its_own_message(http, clean, system, field, value, message):
    body = {**VALID_CHECKOUT, field: value}
    response = http.post("/api/checkout", json=body)
    assert response.status_code == 422
    assert response.json()["errors"] == {field: message}
    assert _enqueued_checkouts(system["broker"]) == []


LINK_IN_NAME = (
    "Nama tidak boleh berisi tautan, alamat situs, atau alamat email. Untuk singkatan, beri "
    'spasi setelah titik (misalnya "Moh. Rizki").'
)
STRANGERS_WORDS = [
    ("Akun BCA diblokir https://evil.example/bca", LINK_IN_NAME),
    ("Verifikasi di evil.example", LINK_IN_NAME),
    ("Cek bit.ly/akun-bca", LINK_IN_NAME),
    ("Buka www.bank-palsu", LINK_IN_NAME),
    ("Balas ke cs@evil.example", LINK_IN_NAME),
    ("Klik wa:me", LINK_IN_NAME),
    ("Hadiah di ｅｖｉｌ．ｃｏｍ", LINK_IN_NAME),  # fullwidth letters are the same address
    ("Hubungi 0812 3456 7890", "Nama tidak boleh berisi lebih dari 3 angka."),
    ("Budi\nSantoso", "Nama berisi karakter tak terlihat (U+000A) yang tidak diizinkan."),
    ("Budi\u202eSantoso", "Nama berisi karakter tak terlihat (U+202E) yang tidak diizinkan."),
    ("Budi <Santoso>", "Nama tidak boleh berisi karakter '<'."),
]


@pytest.mark.parametrize(("name", "message"), STRANGERS_WORDS)
def test_a_name_carrying_a_link_an_address_or_a_number_is_refused(
    http, clean, system, name, message
):
    response = http.post("/api/checkout", json={**VALID_CHECKOUT, "name": name})
    assert response.status_code == 422
    assert response.json()["errors"] == {"name": message}
    assert _enqueued_checkouts(system["broker"]) == []


@pytest.mark.parametrize(
    "name",
    [
        "Moh. Rizki",
        "Ni Kadek Ayu",
        "Dr. Siti",
        "M.Rizki",
        "Ma'ruf Amin",
        "I Gusti Ngurah Rai",
        "Siti-Aisyah Nur",
        "Rina Wati, S.Pd.",
        "Nguyễn Văn An",
        "Hamengkubuwono 10",
        "N" * 60,
    ],
)
def test_real_indonesian_names_pass(http, clean, system, name):
    response = http.post("/api/checkout", json={**VALID_CHECKOUT, "name": name})
    assert response.status_code == 202, response.json()
    (enqueued,) = _enqueued_checkouts(system["broker"])
    assert enqueued["name"] == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Cek akun di evil.\u034fcom", _hidden("034F")),
        ("Verifikasi di bca\ufe0f.\ufe0fco", _hidden("FE0F")),
        ("Cek evil\u180b.com", _hidden("180B")),
        ("Cek evil\u17b4.com", _hidden("17B4")),
        ("Cek evil\u115f.com", _hidden("115F")),
        ("Cek evil\u3164.com", _hidden("3164")),
        ("Cek evil\uffa0.com", _hidden("FFA0")),
        ("Cek evil\u200b.com", _hidden("200B")),
        ("Cek evil\u2063.com", _hidden("2063")),
        ("Cek evil\U000e0041.com", _hidden("E0041")),
        ("Cek evil.\u0301com", LINK_IN_NAME),  # a lone accent does not split an address
        ("Info evil\ua4f8com", LINK_IN_NAME),  # Lisu letter that looks like a dot
        ("Info evil\u00b7com", LINK_IN_NAME),
        ("Info evil\u2022com", LINK_IN_NAME),
        ("Info evil\u2024com", LINK_IN_NAME),
        ("Info evil\u2027com", LINK_IN_NAME),
        ("Info evil\uff0ecom", LINK_IN_NAME),
        ("Info evil\u3002com", LINK_IN_NAME),
        ("Info evil\ufe52com", LINK_IN_NAME),
        ("Info evil\u0701com", LINK_IN_NAME),
        ("Info x.com", LINK_IN_NAME),
        ("Buka t.co", LINK_IN_NAME),
        ("Buka g.co", LINK_IN_NAME),
        ("Buka s.id", LINK_IN_NAME),
        ("Nyoman (Komang) Ari", "Nama tidak boleh berisi karakter '('."),
        ("Ahmad Dhani & Maia", "Nama tidak boleh berisi karakter '&'."),
    ],
)
def test_hidden_characters_look_alike_dots_and_short_domains_are_refused(name, message):
    with pytest.raises(InvalidField) as refused:
        clean_name(name)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("Ani, M.Si", "Ani, M.Si"),
        ("Budi, S.Si", "Budi, S.Si"),
        ("Citra, A.Md", "Citra, A.Md"),
        ("Dewi, S.Kom", "Dewi, S.Kom"),
        ("Eka, S.Pd", "Eka, S.Pd"),
        ("Fajar, S.T", "Fajar, S.T"),
        ("M.Rizki", "M.Rizki"),
        ("Rene\u0301e Nguye\u0302\u0303n", "Ren\u00e9e Nguy\u1ec5n"),  # accents typed apart
    ],
)
def test_degrees_initials_and_decomposed_accents_pass(name, stored):
    assert clean_name(name) == stored


def test_the_shop_form_allows_no_longer_name_than_the_server(http, clean):
    assert 'maxlength="60"' in http.get("/").text


def test_all_errors_are_reported_together(http, clean):
    response = http.post("/api/checkout", json={"name": "", "email": "x", "phone": "1"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"package_id", "name", "email", "phone"}
    assert response.json()["title"]


@pytest.mark.parametrize(
    "phone",
    ["081234567890", "0812-3456-7890", "6281234567890", "+62 812 3456 7890", "(0812) 3456 7890"],
)
def test_indonesian_mobile_numbers_are_normalised_to_e164(http, clean, system, phone):
    response = http.post("/api/checkout", json={**VALID_CHECKOUT, "phone": phone})
    assert response.status_code == 202
    (enqueued,) = _enqueued_checkouts(system["broker"])
    assert enqueued["phone"] == "+6281234567890"
    assert enqueued["order_id"] == response.json()["order_id"]


def test_email_and_name_are_cleaned(http, clean, system):
    body = {**VALID_CHECKOUT, "name": "  Budi   Santoso ", "email": " budi@Example.COM "}
    assert http.post("/api/checkout", json=body).status_code == 202
    (enqueued,) = _enqueued_checkouts(system["broker"])
    assert enqueued["name"] == "Budi Santoso"
    assert enqueued["email"] == "budi@example.com"


def test_the_order_token_is_never_enqueued_only_its_hash(http, clean, system):
    body = http.post("/api/checkout", json=VALID_CHECKOUT).json()
    (enqueued,) = _enqueued_checkouts(system["broker"])
    assert body["order_token"] not in str(enqueued)
    assert enqueued["order_token_hash"]


@pytest.fixture
def retired_package(db):
    with extra_package("retired-course", "Kursus Lama", active=False) as package:
        yield package


def test_an_inactive_package_cannot_be_bought(http, retired_package):
    response = http.post(
        "/api/checkout", json={**VALID_CHECKOUT, "package_id": retired_package.package_id}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "package_id": "Paket tidak ditemukan atau tidak dijual lagi."
    }


def _discount(code: str, **columns) -> DiscountCode:
    return DiscountCode.create(
        code=code, percent_off=columns.pop("percent_off", 10), created_at=utcnow(), **columns
    )


@pytest.mark.parametrize(
    "columns",
    [
        {"active": False},
        {"valid_until": utcnow() - timedelta(minutes=1)},
        {"package": "retired-course"},
    ],
    ids=["inactive", "expired", "other-package"],
)
def test_unusable_discount_codes_are_refused(http, retired_package, columns):
    _discount("HEMAT10", **columns)
    response = http.post("/api/checkout", json={**VALID_CHECKOUT, "discount_code": "hemat10"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"discount_code": "Kode diskon tidak berlaku."}


def test_a_usable_discount_code_is_accepted_in_any_case(http, db, system):
    _discount("HEMAT10", valid_until=utcnow() + timedelta(days=1))
    response = http.post("/api/checkout", json={**VALID_CHECKOUT, "discount_code": "hemat10"})
    assert response.status_code == 202
    (enqueued,) = _enqueued_checkouts(system["broker"])
    assert enqueued["discount_code"] == "HEMAT10"


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'"text"', 400),
        (b"\xff\xfe", 400),
        (b'{"name": "' + b"x" * 9000 + b'"}', 413),
    ],
)
def test_unreadable_bodies_are_refused(http, clean, system, content, status):
    response = http.post(
        "/api/checkout", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert _enqueued_checkouts(system["broker"]) == []


@pytest.fixture
def strict_web(system, clean):
    """The same app with a limit of 3 checkouts per minute per client address."""
    from web.app import create_app

    settings = replace(system["settings"], checkout_rate_limit_per_minute=3)
    with serve_app(create_app(settings, system["broker"].client)) as base_url:
        yield base_url


def test_too_many_checkouts_from_one_client_get_429_with_retry_after(strict_web):
    with httpx.Client(base_url=strict_web, timeout=10) as client:
        accepted = [client.post("/api/checkout", json=VALID_CHECKOUT) for _ in range(3)]
        limited = client.post("/api/checkout", json=VALID_CHECKOUT)
        invalid_but_limited = client.post("/api/checkout", json={})
    assert [response.status_code for response in accepted] == [202, 202, 202]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["title"] == "Terlalu banyak percobaan"
    assert invalid_but_limited.status_code == 429


@pytest.fixture
def strict_web_behind_proxy(system, clean):
    """The strict app served as production serves it behind nginx: waitress trusts the proxy's
    X-Forwarded-For, so each customer's address has its own limit."""
    from config.networks import parse_networks
    from web.app import create_app
    from web.proxies import behind_proxies

    settings = replace(system["settings"], checkout_rate_limit_per_minute=3)
    app = create_app(settings, system["broker"].client)
    server = waitress.create_server(
        behind_proxies(app, parse_networks("127.0.0.1")),
        host="127.0.0.1",
        port=0,
        threads=4,
        clear_untrusted_proxy_headers=False,
    )
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"


def test_the_checkout_limit_is_per_customer_address_behind_the_proxy(strict_web_behind_proxy):
    def checkout_from(client: httpx.Client, address: str) -> int:
        headers = {"X-Forwarded-For": address}
        return client.post("/api/checkout", json=VALID_CHECKOUT, headers=headers).status_code

    with httpx.Client(base_url=strict_web_behind_proxy, timeout=10) as client:
        first_customer = [checkout_from(client, "203.0.113.7") for _ in range(4)]
        second_customer = checkout_from(client, "198.51.100.23")
        first_again = checkout_from(client, "203.0.113.7")
    assert first_customer == [202, 202, 202, 429]
    assert second_customer == 202
    assert first_again == 429


def test_order_numbers_are_easy_to_read_out_unguessable_and_dated_in_jakarta():
    import re
    from datetime import UTC, datetime

    from web.checkout import new_order_id

    two_am_in_jakarta = datetime(2026, 11, 30, 19, 1, tzinfo=UTC)  # 1 Dec 02:01 WIB
    numbers = {new_order_id(two_am_in_jakarta) for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert re.fullmatch(
            r"BFA-20261201-([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", number
        )
        assert len(number) <= 50 and not set("ILOU_") & set(number)
    # 16 symbols of 5 random bits each: over 2,000 numbers every symbol shows up in every place
    for place in range(16):
        symbols = {number[13:].replace("-", "")[place] for number in numbers}
        assert symbols == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), place
