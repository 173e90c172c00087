"""The container-credentials endpoint as pure functions: the token, the request checks and the replies.

The protocol is the one every AWS SDK implements for ``AWS_CONTAINER_CREDENTIALS_FULL_URI``: a ``GET`` whose
``Authorization`` header is the value of ``AWS_CONTAINER_AUTHORIZATION_TOKEN``, answered with JSON holding
``AccessKeyId``, ``SecretAccessKey``, ``Token`` and ``Expiration`` (botocore's ``ContainerProvider`` also
reads ``AccountId``). An error is a JSON ``{"Code", "Message"}`` document: botocore prints the body of any
non-200 answer, and the JavaScript SDK's ``fromHttp`` reads ``Code`` and ``Message``.

Nothing here touches a socket or the cache; :mod:`mfa_process.httpd` does the I/O.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets

from mfa_process import DOCS_URL
from mfa_process.credentials import Credentials, format_expiration
from mfa_process.errors import MfaCodeRejected, MfaProcessError, PromptError, StsError, UsageError
from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: The path clients ask; anything else is a 404.
PATH: Final = "/credentials"
#: The most bytes of a request head (request line and headers) read; an SDK's request is about 200.
MAX_HEAD: Final = 2048
#: The longest request line accepted.
MAX_REQUEST_LINE: Final = 512
#: Random bytes in a server's token (256 bits; the protocol asks for at least 128).
TOKEN_BYTES: Final = 32


class Reply(Record):
    """An HTTP answer: status, reason and a JSON body."""

    status: int
    reason: str
    body: str
    extra_headers: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        """The whole HTTP/1.1 response, one request per connection."""
        payload = self.body.encode("utf-8")
        lines = [
            f"HTTP/1.1 {self.status} {self.reason}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            "Cache-Control: no-store",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.extra_headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload


class Request(Record):
    """A parsed request head: method, target and headers (names lower-cased, each listed once per line)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> list[str]:
        """Every value of header *name* (case-insensitive)."""
        return [value for key, value in self.headers if key == name]


def failure(status: int, reason: str, code: str, message: str, *extra: tuple[str, str]) -> Reply:
    """An error reply in the shape the SDKs read."""
    return Reply(status, reason, json.dumps({"Code": code, "Message": message}), tuple(extra))


def new_token() -> str:
    """A fresh random token for one server (URL-safe text, never written to a file)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def check_bind(address: str, *, allow_non_loopback: bool) -> bool:
    """Validate a ``--bind`` address; whether it is a loopback address (else the caller warns)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise UsageError(f"--bind needs an IP address such as 127.0.0.1, not {address[:60]!r}") from None
    if ip.is_unspecified:
        raise UsageError(
            f"--bind {address} would listen on every interface; name one address (127.0.0.1, or a bridge address)"
        )
    if ip.is_loopback:
        return True
    if not allow_non_loopback:
        raise UsageError(
            f"--bind {address} is not a loopback address: anyone who reaches it with the token gets your "
            f"credentials; add --allow-non-loopback if that is what you want (see {DOCS_URL}/server.md)"
        )
    return False


def parse_port(text: str | None) -> int:
    """The ``--port`` value: 0 (any free port, the default) to 65535."""
    if text is None:
        return 0
    try:
        port = int(text.strip())
    except ValueError:
        raise UsageError(f"--port must be a port number, not {text[:40]!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {port}")
    return port


def host_literal(address: str) -> str:
    """*address* as it appears in a URL's authority (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address else address


def endpoint_url(address: str, port: int) -> str:
    """The value of ``AWS_CONTAINER_CREDENTIALS_FULL_URI``."""
    return f"http://{host_literal(address)}:{port}{PATH}"


def allowed_hosts(address: str, port: int) -> frozenset[str]:
    """``Host`` values accepted: the bound address with its port (and ``localhost`` on a loopback address).

    Anything else is refused, so a web page whose own name was rebound to this address cannot reach it.
    """
    hosts = {f"{host_literal(address)}:{port}"}
    if ipaddress.ip_address(address).is_loopback:
        hosts.add(f"localhost:{port}")
    if port == 80:
        hosts |= {host.rsplit(":", 1)[0] for host in hosts}
    return frozenset(hosts)


def client_variables(address: str, port: int, token: str) -> dict[str, str]:
    """The two variables a client needs."""
    return {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint_url(address, port),
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
    }


def parse_head(head: bytes) -> Request | Reply:
    """Parse a request head (without the blank line ending it), or the reply refusing it."""
    text = head.decode("latin-1")
    request_line, _, rest = text.partition("\r\n")
    if len(request_line) > MAX_REQUEST_LINE:
        return failure(414, "URI Too Long", "RequestTooLarge", "request line too long")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return failure(400, "Bad Request", "BadRequest", "malformed request line")
    headers = []
    for line in rest.split("\r\n") if rest else ():
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return failure(400, "Bad Request", "BadRequest", "malformed header line")
        headers.append((name.lower(), value.strip()))
    return Request(parts[0], parts[1], tuple(headers))


def too_large(head_so_far: bytes) -> Reply:
    """The reply to a request head longer than :data:`MAX_HEAD`."""
    if b"\r\n" not in head_so_far[: MAX_REQUEST_LINE + 2]:
        return failure(414, "URI Too Long", "RequestTooLarge", "request line too long")
    return failure(431, "Request Header Fields Too Large", "RequestTooLarge", "request headers too large")


def check(request: Request, *, hosts: frozenset[str], token: str) -> Reply | None:
    """The reply refusing *request*, or None when it may have the credentials.

    Order: a body, the ``Host`` (DNS rebinding), the token (compared in constant time), the method, the path.
    """
    for refusal in (_body(request), _host(request, hosts), _token(request, token), _route(request)):
        if refusal is not None:
            return refusal
    return None


def _body(request: Request) -> Reply | None:
    length = request.header("content-length")
    if request.header("transfer-encoding") or any(value != "0" for value in length):
        return failure(413, "Content Too Large", "RequestTooLarge", "this endpoint takes no request body")
    return None


def _host(request: Request, hosts: frozenset[str]) -> Reply | None:
    host = request.header("host")
    if len(host) != 1 or host[0].lower() not in hosts:
        return failure(421, "Misdirected Request", "InvalidHost", "Host does not name this server's address")
    return None


def _token(request: Request, token: str) -> Reply | None:
    given = request.header("authorization")
    if not given:
        return failure(
            401, "Unauthorized", "MissingToken", "no Authorization header: set AWS_CONTAINER_AUTHORIZATION_TOKEN"
        )
    if len(given) != 1 or not hmac.compare_digest(given[0].encode("latin-1"), token.encode("ascii")):
        return failure(403, "Forbidden", "InvalidToken", "wrong AWS_CONTAINER_AUTHORIZATION_TOKEN for this server")
    return None


def _route(request: Request) -> Reply | None:
    if request.method != "GET":
        return failure(405, "Method Not Allowed", "MethodNotAllowed", "use GET", ("Allow", "GET"))
    if request.target.split("?", 1)[0] != PATH:
        return failure(404, "Not Found", "NotFound", f"credentials are served at {PATH}")
    return None


def credentials_reply(creds: Credentials) -> Reply:
    """The 200 answer holding *creds*."""
    doc = {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": format_expiration(creds.expiration),
    }
    if creds.account_id:
        doc["AccountId"] = creds.account_id
    return Reply(200, "OK", json.dumps(doc))


def error_reply(exc: MfaProcessError, message: str) -> Reply:
    """The answer when no credentials can be had; *message* is the error's (redacted) text."""
    text = f"mfa-process: {message}"
    if isinstance(exc, (PromptError, MfaCodeRejected)):
        return failure(403, "Forbidden", "MfaSessionLapsed", text)
    if isinstance(exc, StsError):
        return failure(502, "Bad Gateway", "StsError", text)
    return failure(500, "Internal Server Error", "CredentialsUnavailable", text)
