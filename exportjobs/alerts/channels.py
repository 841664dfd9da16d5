"""Where an alert goes: an e-mail address (``mailto:``, sent through the desk's ``EMAIL_URL``) or an Apprise
URL (Slack, Teams, Google Chat, Discord, ntfy, ``json://`` webhooks, …).

A channel URL holds secrets. After saving it is only ever shown masked (``slack://T…/B…/****``), and what a
failed delivery says is scrubbed of every part of the URL before it is kept or logged. Apprise's own log
lines do not reach the desk's log (they may name a service's URL); a failure's words are captured instead.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import apprise
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

logger = logging.getLogger(__name__)
OUTBOX = "outbox:"  # the sandbox's built-in outbox: messages are kept, nothing leaves the machine
_APPRISE_LOG = logging.getLogger("apprise")
_APPRISE_LOG.propagate = False  # its lines may hold a service's URL: never in the desk's log
MAX_ERROR = 300


class DeliveryFailed(Exception):
    """A channel did not take a message; ``message`` is safe to keep and show (no secret in it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def is_mail(channel: str) -> bool:
    return channel.lower().startswith("mailto:")


def mail_address(channel: str) -> str:
    return unquote(channel[len("mailto:") :]).strip()


def _plain_host(host: str) -> bool:
    """A host name or an address (kept when masking), not a token in the host's place (``slack://T0/…``)."""
    if not host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return "." in host or host == "localhost"


def mask(channel: str) -> str:
    """The channel as it may be shown: an e-mail address as it is; in any other URL every password, token,
    path part and query value masked, keeping the service and a host name: ``slack://T…/B…/****``."""
    if is_mail(channel) or channel == OUTBOX:
        return channel
    parts = urlsplit(channel)
    userinfo, _at, hostport = parts.netloc.rpartition("@")
    pieces = [segment for segment in parts.path.split("/") if segment]
    prefix = ""
    if _plain_host(hostport.rsplit(":", 1)[0]):
        prefix = hostport
    elif hostport:
        pieces = [hostport, *pieces]
    masked = [piece[:1] + "…" for piece in pieces[:-1]] + (["****"] if pieces else [])
    body = "/".join(([prefix] if prefix else []) + masked)
    return f"{parts.scheme}://" + ("****@" if userinfo else "") + body + ("?…" if parts.query else "")


def secrets_of(channel: str) -> list[str]:
    """The parts of a channel URL that must not appear anywhere (longest first, for scrubbing)."""
    parts = urlsplit(channel)
    found = {channel, parts.netloc, parts.path}
    userinfo, _at, hostport = parts.netloc.rpartition("@")
    found.update(userinfo.split(":"))
    found.update(piece for piece in parts.path.split("/"))
    found.update(re.split(r"[&=]", parts.query))
    host = hostport.rsplit(":", 1)[0]
    if not _plain_host(host):
        found.add(host)
    return sorted((piece for piece in found if len(piece) >= 4), key=len, reverse=True)


def scrub(text: str, channel: str) -> str:
    """``text`` with every secret part of ``channel`` replaced by ``****``, cut to a line."""
    for secret in secrets_of(channel):
        text = text.replace(secret, "****")
    return " ".join(text.split())[:MAX_ERROR]


def channel_problem(channel: str) -> str | None:
    """Why ``channel`` cannot be used (a key of ``wording.ALERT_FORM_ERRORS``), or None."""
    channel = channel.strip()
    if channel == OUTBOX and settings.PLEO_SANDBOX:
        return None
    if is_mail(channel):
        try:
            validate_email(mail_address(channel))
        except ValidationError:
            return "channel"
        return None if settings.EMAIL_URL or settings.PLEO_SANDBOX else "mail_off"
    if "://" not in channel or apprise.Apprise.instantiate(channel) is None:
        return "channel"
    return None


def send(*, channel: str, message: Message, notification_id: str) -> None:
    """Deliver ``message`` to ``channel`` once; ``DeliveryFailed`` (secrets scrubbed) when it was not taken.
    Webhooks get the notification's id as the ``webhook-id`` header and the ``id`` field."""
    if channel == OUTBOX or (is_mail(channel) and settings.PLEO_SANDBOX and not settings.EMAIL_URL):
        return  # the sandbox's outbox: the notification itself is the message kept
    if is_mail(channel):
        _send_mail(mail_address(channel), message, notification_id)
        return
    _send_apprise(channel, message, notification_id)


def _send_mail(address: str, message: Message, notification_id: str) -> None:
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        to=[address],
        headers={"Message-ID": f"<{notification_id}@export-job-desk>"},
        connection=get_connection(timeout=float(settings.ALERT_SEND_TIMEOUT)),
    )
    mail.attach_alternative(message.html, "text/html")
    try:
        mail.send()
    except (OSError, ValueError) as error:  # smtplib's errors are OSErrors; a refused address too
        raise DeliveryFailed(f"e-mail not sent: {type(error).__name__}: {error}"[:MAX_ERROR]) from None


def _send_apprise(channel: str, message: Message, notification_id: str) -> None:
    service = apprise.Apprise.instantiate(channel)
    if service is None:
        raise DeliveryFailed("the channel is not a URL Apprise knows")
    headers = getattr(service, "headers", None)
    if isinstance(headers, dict):
        headers["webhook-id"] = notification_id
    extras = getattr(service, "payload_extras", None)
    if isinstance(extras, dict):
        extras["id"] = notification_id
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:  # type: ignore[no-untyped-call]
        try:
            taken = service.notify(body=message.text, title=message.subject)
        except Exception as error:
            raise DeliveryFailed(scrub(f"{type(error).__name__}: {error}", channel)) from None
        said = captured.getvalue()
    if not taken:
        raise DeliveryFailed(scrub(said or "the service did not take the message", channel))
