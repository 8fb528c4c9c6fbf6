"""Handoff e-mail through Amazon SES (boto3 `ses` send_email): sent from the mailer's own
threads after the notification is stored, so a slow or failing mail service never holds up a
call or a transfer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from oratio_voice.config import Settings
from oratio_voice.models import CallSession, Notification

log = logging.getLogger(__name__)

MailFailed = Callable[[str], Awaitable[None]]


class MailConfigError(ValueError):
    """Handoff e-mail is asked for but cannot be sent (the message names the setting)."""


def recipients_of(setting: str) -> list[str]:
    return [address.strip() for address in setting.split(",") if address.strip()]


def compose(
    notification: Notification, session: CallSession, console_url: str = ""
) -> tuple[str, str]:
    """(subject, plain text) of the e-mail telling the team about one handoff."""
    lines = [
        notification.body,
        "",
        f"Session: {session.id}",
        f"Agent: {session.agent_id}",
        f"Channel: {session.channel}",
    ]
    if session.caller:
        lines.append(f"Caller: {session.caller}")
    if session.handoff_reason:
        lines.append(f"Reason: {session.handoff_reason}")
    if console_url:
        lines.append(f"Console: {console_url}")
    return notification.title, "\n".join(lines) + "\n"


class HandoffMailer:
    """Sends handoff e-mails through SES; each send runs in a thread, tracked until done."""

    def __init__(
        self,
        sender: str,
        recipients: Sequence[str],
        *,
        region: str,
        endpoint_url: str | None = None,
        console_url: str = "",
        client: Any = None,
    ) -> None:
        if not recipients:
            raise MailConfigError("handoff e-mail needs at least one recipient")
        self.sender = sender
        self.recipients = list(recipients)
        self.region = region
        self.console_url = console_url
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "ses",
                region_name=region,
                endpoint_url=endpoint_url or None,
                config=Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard"}),
            )
        self.client = client
        self._tasks: set[asyncio.Task[None]] = set()
        # Its own threads: SES retrying for seconds must not hold the ones transfers use.
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="handoff-mail")

    @classmethod
    def from_settings(cls, settings: Settings) -> HandoffMailer | None:
        """The mailer the settings ask for, None when e-mail is off; MailConfigError if wrong."""
        recipients = recipients_of(settings.handoff_email_to)
        if not recipients:
            return None
        if not settings.handoff_email_from:
            raise MailConfigError(
                "ORATIO_HANDOFF_EMAIL_TO is set but ORATIO_HANDOFF_EMAIL_FROM is not: set it to "
                "an address (or domain) verified in SES"
            )
        region = settings.ses_region or settings.aws_region
        if not region:
            raise MailConfigError(
                "handoff e-mail goes through SES: set ORATIO_SES_REGION (or ORATIO_AWS_REGION)"
            )
        console = f"{settings.public_url.rstrip('/')}/console" if settings.public_url else ""
        return cls(
            settings.handoff_email_from,
            recipients,
            region=region,
            endpoint_url=settings.ses_endpoint_url or None,
            console_url=console,
        )

    def describe(self) -> str:
        return f"ok (SES {self.region}, {len(self.recipients)} recipient(s))"

    def submit(
        self, notification: Notification, session: CallSession, on_failure: MailFailed
    ) -> asyncio.Task[None]:
        """Send in the background; `on_failure(error)` records a send that did not go out."""
        subject, text = compose(notification, session, self.console_url)
        task = asyncio.ensure_future(self._deliver(subject, text, on_failure))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _deliver(self, subject: str, text: str, on_failure: MailFailed) -> None:
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._threads, self.send, subject, text)
        except Exception as exc:  # SES refused, no credentials, network: report, never raise
            log.warning("handoff e-mail %r not sent: %s", subject, exc)
            try:
                await on_failure(str(exc))
            except Exception:
                log.exception("recording the failed handoff e-mail failed too")

    def send(self, subject: str, text: str) -> str:
        """One e-mail, synchronously (runs in a worker thread); the SES message id."""
        response = self.client.send_email(
            Source=self.sender,
            Destination={"ToAddresses": self.recipients},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )
        return str(response["MessageId"])

    async def close(self, timeout: float = 10.0) -> None:
        """Let e-mails in flight finish (server shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        self._threads.shutdown(wait=False, cancel_futures=True)
