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
    """The message was not accepted (so sending it again cannot duplicate it). `permanent`: the
    server said it never will be (a 5xx answer), so there is no point in retrying."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


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

    def close(self) -> None:
        pass


class SmtpSender:
    """Keeps one connection for a batch of messages (`close()` ends it); a failed connection is
    dropped and the next message opens a new one."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        client: smtplib.SMTP
        if s.smtp_tls:
            client = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        try:
            if s.smtp_starttls and not s.smtp_tls:
                client.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                client.login(s.smtp_user, s.smtp_password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, email: EmailMessage, filename_stem: str) -> str:
        """Returns a note for the log (empty when all went well); raises SendError."""
        try:
            if self._client is None:
                self._client = self._connect()
            refused = self._client.send_message(email)
        except (smtplib.SMTPException, OSError) as error:
            code = getattr(error, "smtp_code", None)
            if code is None and isinstance(error, smtplib.SMTPRecipientsRefused):
                codes = [answer[0] for answer in error.recipients.values()]
                code = min(codes) if codes else None
            if code is None or code == 421:
                self.close()  # the connection is gone or going; the next message opens a new one
            permanent = code is not None and code >= 500
            raise SendError(f"{type(error).__name__}: {error}"[:500], permanent=permanent) from error
        if refused:
            # Accepted for the others: sending again would repeat it to them, so it counts as
            # sent, and the refusal is kept in the log.
            return f"some recipients refused: {', '.join(sorted(refused))}"[:500]
        return ""

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                self._client.close()
            self._client = None


def sender_for(settings: Settings):
    if settings.mail_backend == "smtp":
        return SmtpSender(settings)
    return EmlFolderSender(settings.mail_eml_dir or Path(settings.data_dir) / "outbox")
