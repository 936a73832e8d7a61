"""E-mail through the configured SMTP server (partners without our pages, families later)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes out: host and port of the SMTP server, optional login, STARTTLS."""

    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    sender: str = "noriai@localhost"
    timeout_s: float = 20.0


def build(
    sender: str, to: str, subject: str, body: str, attachments: list[dict[str, Any]] | None = None
) -> EmailMessage:
    """A plain-text message (UTF-8) with text attachments [{filename, content, mime}]."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(body, charset="utf-8")
    for a in attachments or []:
        maintype, _, subtype = a.get("mime", "text/csv").partition("/")
        if maintype == "text" and isinstance(a["content"], str):  # stays readable text, UTF-8
            msg.add_attachment(
                a["content"], subtype=subtype or "plain", charset="utf-8", filename=a["filename"]
            )
            continue
        data = a["content"].encode("utf-8") if isinstance(a["content"], str) else a["content"]
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=a["filename"])
    return msg


def send(settings: MailSettings, msg: EmailMessage) -> None:
    """Hand the message to the SMTP server; raises OSError or smtplib.SMTPException on failure."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password)
        smtp.send_message(msg)
