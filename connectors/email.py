"""Email channel: one multipart (text + HTML) message per alert over SMTP, STARTTLS or SSL."""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from connectors.alert_channel import DeliveryError
from connectors.alert_messages import render, subject
from newsmon.records import AlertMessage, Delivery

_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
# Python's header folding (3.11) loses the space between two encoded words it splits a
# non-ASCII subject into, gluing Arabic words together. Lines up to RFC 5322's 998 octets
# avoid the fold; the subject is capped so its encoded form stays on one line.
_POLICY = email.policy.SMTP.clone(max_line_length=998)
_SUBJECT_CHARS = 200


def email_message(message: AlertMessage, sender: str, recipients: list[str]) -> EmailMessage:
    """The MIME message: subject with the headline, a text part and an HTML part.

    An update replies to its alert (In-Reply-To and References, the same subject after Re:).
    """
    mail = EmailMessage(policy=_POLICY)
    title = subject(message)
    if len(title) > _SUBJECT_CHARS:
        title = title[: _SUBJECT_CHARS - 1].rsplit(" ", 1)[0] + "…"
    mail["Subject"] = f"Re: {title}" if message.replies_to else title
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    # The key is the Message-ID, so a resend after a crash is the same message to mail
    # systems that drop duplicates, and to a reader's client.
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "newsmon"
    mail["Message-ID"] = f"<{message.key}@{domain}>" if message.key else make_msgid()
    if message.replies_to:
        # An update answers its alert's message, whose Message-ID its key gives: clients
        # show the event's later stories in the alert's thread.
        mail["In-Reply-To"] = f"<{message.replies_to}@{domain}>"
        mail["References"] = f"<{message.replies_to}@{domain}>"
    mail["X-Newsmon-Rule"] = message.rule
    mail["X-Newsmon-Idempotency-Key"] = message.key
    mail.set_content(render(message, "txt"))
    mail.add_alternative(render(message, "html"), subtype="html")
    return mail


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{rcpt}: {code} {msg.decode(errors='replace')}"
            for rcpt, (code, msg) in exc.recipients.items()
        )
        return DeliveryError(
            f"recipients refused: {detail}", permanent=all(c >= 500 for c in codes)
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        reason = f"SMTP {exc.smtp_code} {text}".strip()
        return DeliveryError(reason, permanent=500 <= exc.smtp_code < 600)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"SMTP server: {exc}", permanent=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(f"SMTP TLS certificate not trusted: {exc.verify_message}", True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"SMTP server disconnected: {exc}")
    if isinstance(exc, TimeoutError):
        return DeliveryError("SMTP timed out")
    if isinstance(exc, OSError):
        return DeliveryError(f"SMTP connection failed: {exc.strerror or exc}")
    return DeliveryError(f"SMTP error: {type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """The SMTP server alerts go through, its security and credentials, and the sender."""

    host: str
    sender: str
    port: int | None
    security: Literal["starttls", "ssl", "none"]
    username: str | None
    password: SecretStr | None
    ca_certs: Path | None
    timeout: float


class SmtpChannel:
    """Sends alert emails through one SMTP server; one connection per send."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.host = config.host
        self.security = config.security
        self.port = config.port or _DEFAULT_PORTS[self.security]
        self.timeout = config.timeout
        self.sender = config.sender
        self.username = config.username
        self.password = config.password.get_secret_value() if config.password else ""
        cafile = str(config.ca_certs) if config.ca_certs else None
        self.tls = ssl.create_default_context(cafile=cafile)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls(context=self.tls)
        return smtp

    def send(self, delivery: Delivery, message: AlertMessage) -> str | None:
        """Send one message to the delivery's recipients; DeliveryError says why not.

        Returns a note when the server took the message but refused some recipients
        (sending again would give the others a second copy).
        """
        recipients = [r.strip() for r in delivery.target.split(",") if r.strip()]
        if not recipients:
            raise DeliveryError("no recipients (set NEWSMON_ALERT_EMAIL_TO)", permanent=True)
        mail = email_message(message, self.sender, recipients)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(mail, self.sender, recipients)
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from exc
        if refused:
            return "refused recipients: " + "; ".join(
                f"{rcpt}: {code} {msg.decode(errors='replace')}"
                for rcpt, (code, msg) in refused.items()
            )
        return None

    def close(self) -> None:
        """Nothing held between sends."""
