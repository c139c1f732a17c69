"""How provider answers are classified, and how recipients are written for each provider."""

import smtplib

import pytest

from integrations.email import classify_smtp_error, message_id_for
from integrations.errors import (
    PermanentProviderError,
    RecipientDeferred,
    RecipientRefused,
    RetryableProviderError,
)
from integrations.whatsapp import whatsapp_number


@pytest.mark.parametrize(
    "error, kind",
    [
        (smtplib.SMTPDataError(451, b"4.3.0 try later"), RetryableProviderError),
        (smtplib.SMTPDataError(550, b"5.1.1 no such user"), PermanentProviderError),
        (smtplib.SMTPSenderRefused(421, b"busy", "kursus@buatfilm.local"), RetryableProviderError),
        (
            smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"unknown")}),
            RecipientRefused,  # permanent, and not the provider's fault
        ),
        (
            smtplib.SMTPRecipientsRefused({"x@example.com": (450, b"greylisted")}),
            RecipientDeferred,  # retried, and not the provider's fault
        ),
        (smtplib.SMTPServerDisconnected("gone"), RetryableProviderError),
        (TimeoutError("timed out"), RetryableProviderError),
        (ConnectionRefusedError(111, "refused"), RetryableProviderError),
        (smtplib.SMTPNotSupportedError("no SMTPUTF8"), RecipientRefused),
    ],
)
def test_smtp_errors_are_permanent_for_5xx_and_retryable_otherwise(error, kind):
    assert type(classify_smtp_error(error)) is kind


@pytest.mark.parametrize(
    "phone, to",
    [
        ("+6281234567890", "6281234567890"),
        ("081234567890", "6281234567890"),
        ("+62 812-3456-7890", "6281234567890"),
    ],
)
def test_whatsapp_numbers_are_digits_without_plus(phone, to):
    assert whatsapp_number(phone) == to


@pytest.mark.parametrize("phone", ["", "12345", "not a number"])
def test_an_impossible_whatsapp_number_is_a_permanent_error(phone):
    with pytest.raises(PermanentProviderError):
        whatsapp_number(phone)


def test_the_message_id_depends_only_on_the_outbox_row():
    sender = "Buat Film Pakai AI <kursus@buatfilm.local>"
    assert message_id_for(42, sender) == message_id_for(42, sender) == "<outbox-42@buatfilm.local>"
    assert message_id_for(43, sender) != message_id_for(42, sender)
