"""Everything the sandbox remembers, in memory, behind one lock shared by all server threads."""

import dataclasses
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from harness.sandbox.faults import FaultSwitch
from models.messages import whatsapp_templates

FAULT_TARGETS = ("snap", "status_api", "actions", "mail", "whatsapp")
BUSINESS_ACCOUNT_ID = "100000000000002"  # the settings' WHATSAPP_BUSINESS_ACCOUNT_ID default


def approved_templates() -> dict[str, str]:
    """The shop's own WhatsApp templates, all approved: the account a finished setup has."""
    return {mapping["name"]: "APPROVED" for mapping in whatsapp_templates().values()}


class OrderIdTaken(Exception):
    """Snap refuses an order_id once the customer picked a payment method for it."""


@dataclass(frozen=True)
class SnapTransaction:
    """One order as Midtrans knows it: its live Snap token and, once paid for, its status."""

    order_id: str
    token: str
    gross_amount: int
    request_body: dict
    finish_url: str | None
    transaction_status: str | None = None
    payment_type: str | None = None
    fraud_status: str | None = None
    transaction_id: str | None = None
    transaction_time: str | None = None
    settlement_time: str | None = None
    expiry_time: str | None = None
    gross_amount_text: str | None = None
    original_amount: str | None = None
    refunds: tuple[dict, ...] = ()  # each refund so far, as the Status API lists them

    @property
    def method_chosen(self) -> bool:
        """Midtrans only 'knows' a transaction (Status API, duplicate check) after this."""
        return self.transaction_status is not None

    def as_dict(self) -> dict:
        """The stored state as JSON for the control API and the inbox."""
        return dataclasses.asdict(self) | {"method_chosen": self.method_chosen}


def utc_now_text() -> str:
    """When something was received, for inspection."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class SandboxState:
    """Transactions, recorded API requests, stored mail and WhatsApp messages, and faults."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    transactions: dict[str, SnapTransaction] = field(default_factory=dict)
    order_by_token: dict[str, str] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    mails: list[dict] = field(default_factory=list)
    whatsapp_messages: list[dict] = field(default_factory=list)
    whatsapp_business_account_id: str = BUSINESS_ACCOUNT_ID
    templates: dict[str, str] = field(default_factory=approved_templates)
    faults: dict[str, FaultSwitch] = field(
        default_factory=lambda: {target: FaultSwitch() for target in FAULT_TARGETS}
    )

    def open_snap(self, order_id: str, gross_amount: int, body: dict) -> SnapTransaction:
        """A fresh token for the order; the previous one dies. Raises OrderIdTaken once paid for."""
        with self.lock:
            previous = self.transactions.get(order_id)
            if previous is not None and previous.method_chosen:
                raise OrderIdTaken(order_id)
            if previous is not None:
                self.order_by_token.pop(previous.token, None)
            finish_url = (body.get("callbacks") or {}).get("finish")
            created = SnapTransaction(order_id, str(uuid.uuid4()), gross_amount, body, finish_url)
            self.transactions[order_id] = created
            self.order_by_token[created.token] = order_id
            return created

    def transaction(self, order_id: str) -> SnapTransaction | None:
        """The order's transaction, or None if Snap never saw it."""
        with self.lock:
            return self.transactions.get(order_id)

    def transaction_by_token(self, token: str) -> SnapTransaction | None:
        """The transaction behind a live Snap token; dead and unknown tokens give None."""
        with self.lock:
            order_id = self.order_by_token.get(token)
            return self.transactions.get(order_id) if order_id else None

    def transaction_by_any_id(self, order_or_transaction_id: str) -> SnapTransaction | None:
        """The Status API accepts either the order_id or Midtrans' transaction_id."""
        with self.lock:
            found = self.transactions.get(order_or_transaction_id)
            if found is not None:
                return found
            matches = (
                txn
                for txn in self.transactions.values()
                if txn.transaction_id == order_or_transaction_id
            )
            return next(matches, None)

    def update_transaction(self, order_id: str, **changes: object) -> SnapTransaction:
        """Apply changes to a known transaction atomically and return the new version."""
        with self.lock:
            updated = dataclasses.replace(self.transactions[order_id], **changes)
            self.transactions[order_id] = updated
            return updated

    def list_transactions(self) -> list[SnapTransaction]:
        """All transactions, newest first."""
        with self.lock:
            return list(reversed(self.transactions.values()))

    def record(self, store: list[dict], entry: dict) -> None:
        """Append to one of the stores (requests, mails, whatsapp_messages) under the lock."""
        with self.lock:
            store.append(entry)

    def listed(self, store: list[dict]) -> list[dict]:
        """A copy of one store, oldest first, safe to serialise outside the lock."""
        with self.lock:
            return list(store)

    def clear_store(self, store: list[dict], fault_target: str | None = None) -> None:
        """Forget one store's entries and, for a channel, its faults."""
        with self.lock:
            store.clear()
        if fault_target is not None:
            self.faults[fault_target].clear()

    def template_statuses(self) -> dict[str, str]:
        """WhatsApp template name -> review status, as the business account lists them."""
        with self.lock:
            return dict(self.templates)

    def set_template_status(self, name: str, status: str | None) -> None:
        """A template's new review status; None deletes it."""
        with self.lock:
            if status is None:
                self.templates.pop(name, None)
            else:
                self.templates[name] = status

    def reset(self) -> None:
        """Back to an empty sandbox: no transactions, requests, messages or faults, and the
        shop's templates approved."""
        with self.lock:
            self.templates = approved_templates()
            self.transactions.clear()
            self.order_by_token.clear()
            self.requests.clear()
            self.mails.clear()
            self.whatsapp_messages.clear()
        for switch in self.faults.values():
            switch.clear()
