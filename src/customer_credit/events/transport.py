"""One webhook POST: checks the destination, connects to the checked address (keeping the URL's
host name for the Host header, TLS SNI and certificate check), and reports the status code,
the duration and a fixed error category. Neither the receiver's body nor raw exception text
comes back: both would let an endpoint's owner read or probe whatever the worker can reach."""

import http.client
import logging
import socket
import ssl
import time
from dataclasses import dataclass

from customer_credit.events.destinations import (
    AllowList,
    Destination,
    DestinationRefused,
    HostUnresolved,
    InvalidWebhookUrl,
    checked_destination,
)

log = logging.getLogger("customer_credit.webhooks")
USER_AGENT = "customer-credit-webhooks/1"

# The only error texts a delivery records (and the deliveries API shows).
TIMEOUT = "timeout"
CONNECTION_FAILED = "connection failed"
TLS_FAILED = "tls handshake failed"
INVALID_RESPONSE = "invalid response"
HOST_UNRESOLVED = "host name not resolved"
REFUSED = "refused: destination not allowed"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None


class _ToCheckedAddresses(http.client.HTTPConnection):
    """Connects to the destination's checked addresses (in the resolver's order) instead of
    resolving the host name again, which could answer differently. A mixin: listed before
    HTTPSConnection, its super().__init__ reaches the TLS connection's."""

    def __init__(self, destination: Destination, timeout_s: float, **kwargs):
        super().__init__(destination.host, destination.port, timeout=timeout_s, **kwargs)
        self._checked_addresses = destination.addresses
        self._create_connection = self._connect_checked  # http.client's hook for the socket

    def _connect_checked(self, _address, timeout, source_address=None) -> socket.socket:
        failure: OSError | None = None
        for family, sockaddr in self._checked_addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as error:
                sock.close()
                failure = error
        raise failure or OSError("no address to connect to")


class _HTTPConnection(_ToCheckedAddresses):
    pass


class _HTTPSConnection(_ToCheckedAddresses, http.client.HTTPSConnection):
    pass


def _category(error: Exception) -> str:
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError
        return TIMEOUT
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return TLS_FAILED
    if isinstance(error, http.client.HTTPException):
        return INVALID_RESPONSE
    return CONNECTION_FAILED


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def post(url: str, headers: dict[str, str], body: bytes, timeout_s: float, allowed: AllowList) -> Outcome:
    """One POST; any 2xx is a success. Redirects are not followed (a receiver must answer)."""
    started = time.monotonic()
    try:
        destination = checked_destination(url, allowed)
    except HostUnresolved:
        return Outcome(False, error=HOST_UNRESOLVED, duration_ms=_elapsed_ms(started))
    except (DestinationRefused, InvalidWebhookUrl) as refusal:
        log.warning("webhook destination refused", extra={"reason": str(refusal)})
        return Outcome(False, error=REFUSED, duration_ms=_elapsed_ms(started))
    connection: http.client.HTTPConnection
    if destination.scheme == "https":
        connection = _HTTPSConnection(destination, timeout_s, context=ssl.create_default_context())
    else:
        connection = _HTTPConnection(destination, timeout_s)
    try:
        connection.request(
            "POST",
            destination.target,
            body=body,
            headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        status = connection.getresponse().status  # the body is neither read nor kept
        return Outcome(200 <= status < 300, status, duration_ms=_elapsed_ms(started))
    except (OSError, http.client.HTTPException) as error:
        return Outcome(False, error=_category(error), duration_ms=_elapsed_ms(started))
    finally:
        connection.close()
