"""E-mails of the reporting cycle: composed here (plain text and HTML, nothing about any child), then sent by SMTP
with STARTTLS or, where no SMTP server is configured outside production, written as `.eml` files into a folder."""

import html
import uuid
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import aiosmtplib
import anyio

from app.core.config import Settings
from app.models import utcnow
from app.models.enums import NotificationKind


@dataclass(frozen=True)
class Letter:
    """What a message says, before it is addressed and sent."""

    subject: str
    lines: list[str]  # paragraphs, plain text
    link: str | None = None  # the one-time link to the return form, where there is one
    link_text: str = "File your return"


def reminder(kind: NotificationKind, *, plan: str, ref: str, title: str, due: date, meeting: date | None, owner: str) -> Letter:
    """The owner's reminders: before the due date, on it, and once it was missed; and a return sent back for more."""
    what = f"{ref} {title}"
    at_meeting = f" It goes to the Delivery Group on {meeting:%-d %B %Y}." if meeting is not None else ""
    openings = {
        NotificationKind.reminder: f"Your monthly return for action {what} is due on {due:%A %-d %B %Y}.{at_meeting}",
        NotificationKind.due_today: f"Your monthly return for action {what} is due today.{at_meeting}",
        NotificationKind.overdue: f"Your monthly return for action {what} was due on {due:%-d %B %Y} and has not been received. "
        "It is recorded as missed; please file it now.",
        NotificationKind.sent_back: f"Your return for action {what} has been sent back for more information. "
        "The programme office's note is with the return.",
    }
    subjects = {
        NotificationKind.reminder: f"Return due {due:%-d %B}: {ref}",
        NotificationKind.due_today: f"Return due today: {ref}",
        NotificationKind.overdue: f"Return missed: {ref}",
        NotificationKind.sent_back: f"Return sent back: {ref}",
    }
    return Letter(
        subject=f"{plan}: {subjects[kind]}",
        lines=[
            f"Dear {owner},",
            openings[kind],
            "Say how the action stands (red, amber or green), what happened this month, what is in the way and what comes next, "
            "and give a new forecast date if the old one no longer holds.",
            "The link below works once, for this return only. It needs no password or key.",
        ],
    )


def escalation(*, plan: str, ref: str, title: str, due: date, owner: str, recipient: str, owner_left: bool, reminded: bool) -> Letter:
    """To the senior responsible officer and the leads: what is missing, and why nobody was chased if nobody was."""
    if owner_left:
        why = f"{owner}, its owner, has left the partnership, so no reminder could be sent: the action needs a new owner."
    elif reminded:
        why = f"{owner}, its owner, was reminded."
    else:
        why = f"No reminder reached {owner}, its owner (see the notifications for why)."
    return Letter(
        subject=f"{plan}: return still missing for {ref}",
        lines=[
            f"Dear {recipient},",
            f"The monthly return for action {ref} {title} was due on {due:%-d %B %Y} and is still missing. {why}",
            "As the plan's senior responsible officer or a lead, you may wish to follow this up before the Delivery Group meets.",
        ],
    )


def compose(letter: Letter, *, sender: str, to: str, notification_id: uuid.UUID) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = letter.subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(idstring=str(notification_id), domain=sender.rpartition("@")[2] or "wsoa.invalid")
    text = "\n\n".join(letter.lines + ([f"{letter.link_text}: {letter.link}"] if letter.link else []))
    # 8bit, not quoted-printable: a link stays whole on its line for anyone who reads the message's source
    message.set_content(text + "\n", cte="8bit")
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in letter.lines)
    button = f'<p><a href="{html.escape(letter.link, quote=True)}">{html.escape(letter.link_text)}</a></p>' if letter.link else ""
    message.add_alternative(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(letter.subject)}</title></head>'
        f"<body>{paragraphs}{button}</body></html>",
        subtype="html",
        cte="8bit",
    )
    return message


class Outbox:
    """Where a batch of messages goes: one SMTP connection (STARTTLS unless turned off, credentials from settings), opened
    at the first message and again after a failure; or, without an SMTP server outside production, `.eml` files in the
    mail folder. `send` raises on failure (the caller records it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> "Outbox":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._close()

    async def _close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()

    async def send(self, message: EmailMessage) -> None:
        settings = self.settings
        if not settings.smtp_host:
            folder = Path(mail_folder(settings))
            name = f"{utcnow():%Y%m%dT%H%M%S%fZ}-{message['Message-ID'].strip('<>').partition('@')[0]}.eml"
            await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
            await anyio.Path(folder / name).write_bytes(bytes(message))
            return
        try:
            if self.smtp is None:
                password = settings.smtp_password.get_secret_value()
                self.smtp = aiosmtplib.SMTP(
                    hostname=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_username or None,
                    password=password or None,
                    start_tls=settings.smtp_starttls,
                    cert_bundle=settings.smtp_ca_file or None,
                    timeout=settings.smtp_timeout_seconds,
                )
                await self.smtp.connect()
            await self.smtp.send_message(message)
        except Exception:
            await self._close()  # the next message starts a fresh conversation
            raise


def mail_folder(settings: Settings) -> str:
    """Where messages go when there is no SMTP server: `WSOA_MAIL_DIR`, or `./mail` outside production."""
    return settings.mail_dir or ("" if settings.env == "production" else "./mail")
