"""Every HTTP endpoint against generated hostile requests, over real HTTP to the real web app.

Bodies: any JSON value, endpoint-shaped objects with hostile fields, deep nesting, lone
surrogates, NaN, huge numbers, wrong types, random bytes; content types and headers; query
strings and path segments with odd and badly escaped characters. Each endpoint gets at least
1,000 requests. Whatever comes in: no answer of 500 (a 5xx is only ever 503, a dependency down),
and nothing changes unless the request was valid: no Dramatiq message (the web's only write), no
database row. A valid request made by chance (a checkout, a correctly signed notification) is
allowed, counted, and must carry nothing PostgreSQL could not store.

Fixed seed (derandomize) so CI replays the same requests; no example database is kept.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from urllib.parse import quote

import dramatiq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.settings import SANDBOX_SERVER_KEY
from integrations.signature import midtrans_signature
from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.orders import Order, PaymentAttempt
from models.outbox import OutboxMessage
from tests.conftest import ADMIN_TOKEN
from tests.factories import VALID_CHECKOUT

pytestmark = pytest.mark.slow  # a thousand requests per endpoint

REQUESTS_PER_ENDPOINT = 1000
FUZZ = settings(
    max_examples=REQUESTS_PER_ENDPOINT,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TABLES = (Order, PaymentEvent, PaymentAttempt, Entitlement, OutboxMessage, AuditEntry)

# --- what a request may carry -------------------------------------------------------------------

any_character = st.characters() | st.characters(categories=["Cs"])  # lone surrogates too
texts = st.text(any_character, max_size=24)
numbers = st.integers() | st.integers(10**20, 10**400) | st.floats()  # floats: NaN, inf too
scalars = st.none() | st.booleans() | numbers | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
deep_bodies = st.integers(1, 3000).flatmap(
    lambda depth: st.sampled_from(
        ["[" * depth + "]" * depth, '{"a":' * depth + "0" + "}" * depth, "[" * depth]
    )
)
odd_bodies = st.sampled_from(
    ["", "null", "{}", "[]", "{", "1e999999", "NaN", "-Infinity", "9" * 5000, '{"a":1,"a":2}']
)
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/jsonx",
    "",
]
header_texts = st.text(st.sampled_from(string.printable[:-5]), max_size=40).map(str.strip)


def as_json(value) -> bytes:
    """ASCII JSON: lone surrogates become \\udXXX escapes, NaN and infinities their literals."""
    return json.dumps(value).encode()


def bodies(shaped: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    return st.one_of(
        shaped.map(as_json),
        json_values.map(as_json),
        deep_bodies.map(str.encode),
        odd_bodies.map(str.encode),
        st.binary(max_size=200),
    )


def field(valid: list) -> st.SearchStrategy:
    """A field's value: four times in five one that passes, else any JSON value."""
    return st.integers(0, 4).flatmap(lambda n: st.sampled_from(valid) if n else json_values)


checkout_objects = st.fixed_dictionaries(
    {name: field([value]) for name, value in VALID_CHECKOUT.items()},
    optional={"discount_code": field(["", None]), "amount": json_values, "x": json_values},
)
notification_fields = st.fixed_dictionaries(
    {
        "order_id": field(["BFA-20260101-fuzz", "order-101"]),
        "status_code": field(["200", "201", "407"]),
        "gross_amount": field(["99000.00", "99000"]),
        "transaction_status": field(["settlement", "pending", "refund"]),
    },
    optional={"fraud_status": field(["accept"]), "metadata": json_values, "x": json_values},
)


def _signature(fields: dict) -> object:
    signed = [fields.get(name) for name in ("order_id", "status_code", "gross_amount")]
    if not all(isinstance(value, str) for value in signed):
        return "0" * 128
    try:
        return midtrans_signature(*signed, SANDBOX_SERVER_KEY)
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form to hash
        return "0" * 128


notification_objects = st.builds(
    lambda fields, sign, other: {**fields, "signature_key": _signature(fields) if sign else other},
    notification_fields,
    st.booleans(),
    field(["0" * 128, ""]),
)
login_objects = st.dictionaries(
    st.sampled_from(["token", "next", "csrf_token", "back"]) | texts,
    field([ADMIN_TOKEN, "wrong", "/admin/orders", "//evil.example", "/admin\r\nX: y"]),
    max_size=3,
)


def _escaped(text: str) -> str:
    """Percent-encoded UTF-8, with lone surrogates as the bytes a careless client would send."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


url_pieces = st.one_of(
    texts.map(_escaped),
    st.text(st.sampled_from("abcAZ09-_.~%+=&;/?:@!$'()*,"), max_size=12),
    st.sampled_from(["%", "%zz", "%ED%A0%80", "%FF", "%C0%AF", "%00", "%0A", "a" * 300]),
)
QUERY_NAMES = ["token", "q", "status", "since", "until", "page", "next", "order_id"]
query_strings = st.lists(
    st.tuples(st.sampled_from(QUERY_NAMES) | url_pieces, url_pieces), max_size=4
).map(lambda pairs: "&".join(f"{name}={value}" for name, value in pairs))
path_segments = st.one_of(url_pieces.filter(bool), st.sampled_from(["BFA-20260101-x", "1", "-1"]))


@st.composite
def requests(draw, paths: st.SearchStrategy, body_objects: st.SearchStrategy | None = None):
    """(path with query, headers, body): the body only where the endpoint reads one."""
    path, query = draw(paths), draw(query_strings)
    headers = {
        "X-Request-ID": draw(header_texts),
        "Accept": draw(st.sampled_from(["*/*", "text/html", "application/json", "x"])),
    }
    content = b""
    if body_objects is not None:
        content = draw(bodies(body_objects))
        headers["Content-Type"] = draw(st.sampled_from(CONTENT_TYPES))
    if draw(st.booleans()):
        headers["Cookie"] = f"bfa_admin_session={draw(header_texts)}"
    return f"{path}?{query}" if query else path, headers, content


def storable(document: object) -> bool:
    """What PostgreSQL's jsonb takes: strict JSON, valid UTF-8, no NUL."""
    try:
        text = json.dumps(document, allow_nan=False)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return "\\u0000" not in text


# --- the harness --------------------------------------------------------------------------------


class Fuzzer:
    """Sends requests through one client and checks each answer and what it left behind: a
    valid request enqueues exactly one message, anything else nothing (no worker runs, so
    every message the web ever enqueued is still there to count)."""

    def __init__(self, http, system):
        self.http = http
        self.redis = system["broker"].client
        namespace = system["broker"].namespace
        queues = sorted(system["broker"].get_declared_queues())
        self.queue_keys = [f"{namespace}:{name}.msgs" for name in queues]
        self.statuses: Counter = Counter()
        self.accepted: list = []

    def queued_messages(self) -> list:
        """The first argument of every message waiting in any queue."""
        stored = [raw for key in self.queue_keys for raw in self.redis.hvals(key)]
        return [dramatiq.Message.decode(raw).args[0] for raw in stored]

    def nothing_else_queued(self) -> None:
        pipeline = self.redis.pipeline()
        for key in self.queue_keys:
            pipeline.hlen(key)
        assert sum(pipeline.execute()) == len(self.accepted)

    def unlock_admin(self) -> None:
        """Forget failed admin logins, so every request reaches the code under test, not 429."""
        self.redis.delete(
            "ratelimit:admin-login:127.0.0.1", "ratelimit:admin-login:blocked:127.0.0.1"
        )

    def answer(self, method: str, url: str, headers: dict, content: bytes = b""):
        response = self.http.request(method, url, headers=headers, content=content)
        self.http.cookies.clear()  # a guessed admin token must not log in the next request
        self.statuses[response.status_code] += 1
        assert response.status_code < 500 or response.status_code == 503, (url, content[:300])
        return response

    def post(self, url: str, headers: dict, content: bytes, accepts: int | None = None):
        """`accepts` is the status of a valid request, the only one that may enqueue."""
        response = self.answer("POST", url, headers, content)
        if response.status_code == accepts:
            self.accepted.append(json.loads(content))
        self.nothing_else_queued()
        return response


def rows() -> list[int]:
    return [model.select().count() for model in TABLES]


@pytest.fixture
def fuzzer(http, db, system):
    """The harness; afterwards, no database row was written, whatever was sent."""
    from loguru import logger

    before = rows()
    logger.disable("web.middleware")  # a line per request costs a fifth of the run; errors stay
    try:
        harness = Fuzzer(http, system)
        yield harness
    finally:
        logger.enable("web.middleware")
    assert rows() == before
    print(f"\n{sum(harness.statuses.values())} requests: {dict(sorted(harness.statuses.items()))}")


def each_example_reaches(sent: Counter, *endpoints: str) -> None:
    for endpoint in endpoints:
        assert sent[endpoint] >= REQUESTS_PER_ENDPOINT, (endpoint, sent[endpoint])


# --- the endpoints ------------------------------------------------------------------------------


def test_checkout_takes_only_valid_orders(fuzzer):
    @FUZZ
    @given(requests(st.just("/api/checkout"), checkout_objects))
    def post(request):
        url, headers, content = request
        fuzzer.post(url, headers, content, accepts=202)

    post()
    assert sum(fuzzer.statuses.values()) >= REQUESTS_PER_ENDPOINT
    assert fuzzer.accepted  # valid checkouts made by chance, each one message
    assert all(storable(order_request) for order_request in fuzzer.queued_messages())


def test_the_webhook_takes_only_signed_storable_notifications(fuzzer):
    @FUZZ
    @given(requests(st.just(""), notification_objects))
    def post(request):
        query, headers, content = request
        answers = {
            fuzzer.post(f"{path}{query}", headers, content, accepts=200).status_code
            for path in ("/webhooks/midtrans", "/webhooks/midtrans/")
        }
        assert len(answers) == 1  # the trailing slash never makes a difference
        if answers == {200}:
            body = json.loads(content)
            assert body["signature_key"] == _signature(body)

    post()
    assert sum(fuzzer.statuses.values()) >= 2 * REQUESTS_PER_ENDPOINT
    assert fuzzer.accepted and all(storable(body) for body in fuzzer.accepted)
    queued = sorted(json.dumps(body, sort_keys=True) for body in fuzzer.queued_messages())
    assert queued == sorted(json.dumps(body, sort_keys=True) for body in fuzzer.accepted)


CUSTOMER_PAGES = ("/", "/finish", "/health", "/health/live", "/health/ready", "/metrics")


def test_pages_health_and_metrics_answer_any_url(fuzzer):
    sent: Counter = Counter()
    segments = path_segments.map(lambda segment: f"/{segment}")

    @FUZZ
    @given(requests(st.just("")), segments, segments)
    def get(request, order_segment, access_segment):
        query, headers, _ = request
        urls = [f"{page}{query}" for page in CUSTOMER_PAGES]
        urls += [f"/api/orders{order_segment}{query}", f"/access{access_segment}{query}"]
        for url in urls:
            fuzzer.answer("GET", url, headers)
        sent.update([*CUSTOMER_PAGES, "/api/orders/{id}", "/access/{token}"])
        fuzzer.nothing_else_queued()

    get()
    each_example_reaches(sent, *CUSTOMER_PAGES, "/api/orders/{id}", "/access/{token}")


def test_the_admin_login_form_answers_any_body(fuzzer):
    @FUZZ
    @given(requests(st.just("/admin/login"), login_objects))
    def post(request):
        url, headers, content = request
        fuzzer.unlock_admin()
        fuzzer.post(url, headers, content)

    post()
    assert sum(fuzzer.statuses.values()) >= REQUESTS_PER_ENDPOINT


ADMIN_SCREENS = ("/orders", "/outbox", "/dead-letters", "/health")
ADMIN_ACTIONS = ("/outbox/{}/resend", "/outbox/{}/requeue", "/dead-letters/{}/requeue")


def test_the_admin_api_answers_any_url_with_and_without_the_token(fuzzer):
    sent: Counter = Counter()
    valid = f"Bearer {ADMIN_TOKEN}"
    bearer = st.sampled_from([valid, "Bearer wrong", f"bearer  {ADMIN_TOKEN}", "Basic x", ""])

    @FUZZ
    @given(
        requests(st.just(""), json_values), bearer, path_segments, st.sampled_from(ADMIN_ACTIONS)
    )
    def call(request, authorization, segment, action):
        query, headers, content = request
        headers = {**headers, "Authorization": authorization}
        screens = {screen: f"/api/admin{screen}" for screen in ADMIN_SCREENS}
        screens["/orders/{id}"] = f"/api/admin/orders/{segment}"
        for label, path in screens.items():
            if authorization != valid:  # each is a failed attempt: forget it
                fuzzer.unlock_admin()
            fuzzer.answer("GET", f"{path}{query}", headers)
            sent[label] += 1
        fuzzer.unlock_admin()
        fuzzer.post(f"/api/admin{action.format(segment)}{query}", headers, content)
        sent["actions"] += 1

    call()
    each_example_reaches(sent, *ADMIN_SCREENS, "/orders/{id}", "actions")
    assert fuzzer.statuses[200] and fuzzer.statuses[401]  # both sides of the token were reached
