"""Sending e-mail: over SMTP (host, port, STARTTLS or implicit TLS, login), or, the embedded
default, as .eml files written into a folder so a first run needs no mail server."""

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

from customer_credit.reminders.templates import Message
from customer_credit.settings import Settings


class SendError(Exception):
    """The message was not accepted; safe to try again later."""


def build(
    settings: Settings, message: Message, *, to: list[str], cc: list[str], message_key: str
) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = settings.mail_sender
    email["To"] = ", ".join(to)
    if cc:
        email["Cc"] = ", ".join(cc)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(settings.mail_sender)[1].rpartition("@")[2] or "localhost"
    # Stable per reminder: a mail client that ever sees it twice shows it once.
    email["Message-ID"] = f"<{message_key}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


class EmlFolderSender:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, email: EmailMessage, filename_stem: str) -> str:
        """Returns a note for the log (empty when all went well); raises SendError."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{filename_stem}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(email.as_bytes())
            os.replace(temporary, target)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise SendError(f"cannot write {target}: {error}") from error
        return ""


class SmtpSender:
    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, email: EmailMessage, filename_stem: str) -> str:
        s = self.settings
        try:
            if s.smtp_tls:
                client = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            with client:
                if s.smtp_starttls and not s.smtp_tls:
                    client.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    client.login(s.smtp_user, s.smtp_password)
                refused = client.send_message(email)
        except (smtplib.SMTPException, OSError) as error:
            raise SendError(f"{type(error).__name__}: {error}"[:500]) from error
        if refused:
            # Accepted for the others: sending again would repeat it to them, so it counts as
            # sent, and the refusal is kept in the log.
            return f"some recipients refused: {', '.join(sorted(refused))}"[:500]
        return ""


def sender_for(settings: Settings):
    if settings.mail_backend == "smtp":
        return SmtpSender(settings)
    return EmlFolderSender(settings.mail_eml_dir or Path(settings.data_dir) / "outbox")
