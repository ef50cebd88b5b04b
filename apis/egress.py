"""The one way the gateway calls out to a registered third-party API.

Every URL is checked before anything connects: http or https only, no credentials in the
URL, and every address the host resolves to must be public (or inside a network the
operator allows). The connection then goes to exactly the address that was checked, so a
second DNS answer cannot redirect it (DNS rebinding); redirects are checked again hop by hop.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from json import dumps
from typing import Any, NamedTuple
from urllib.parse import quote, urljoin, urlsplit

import httpcore
from httpcore import SOCKET_OPTION

from hub.errors import ConfigError, TrustlabError

Resolver = Callable[[str, int], list[str]]
Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


class EgressRefused(TrustlabError):
    """The call was refused by policy: scheme, URL credentials, address, redirects or size."""


class EgressFailed(TrustlabError):
    """The call was allowed but did not succeed: resolution, connection, timeout or status."""


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver: every address `host` has for TCP."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class EgressResponse:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes  # as received: no decompression (none is requested)
    url: str  # after redirects

    def raise_for_status(self) -> None:
        """Raise EgressFailed unless the status is 2xx; the upstream body is not echoed."""
        if not 200 <= self.status < 300:
            raise EgressFailed(f"the upstream API answered with HTTP status {self.status}")


_METADATA = {ip_address("169.254.169.254"), ip_address("fd00:ec2::254")}
_NAT64 = ip_network("64:ff9b::/96")
# Ranges `is_global` lets through on Python 3.11, or that deserve a clearer name than "private".
_NAMED = {
    "this network, 0.0.0.0/8": "0.0.0.0/8",
    "shared address space (CGNAT)": "100.64.0.0/10",
    "broadcast": "255.255.255.255/32",
    "reserved": "240.0.0.0/4",
    "Teredo": "2001::/32",
    "documentation": "192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 2001:db8::/32 3fff::/20",
    "deprecated 6to4 relay anycast": "192.88.99.0/24",
    "local-use NAT64": "64:ff9b:1::/48",
    "IPv4-compatible IPv6 (deprecated)": "::/96",
}
_NAMED_NETS = [(label, ip_network(n)) for label, nets in _NAMED.items() for n in nets.split()]
_FLAGS = ("loopback", "unspecified", "link_local", "multicast")
_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")
_SAFE_PATH = "!$&'()*+,;=:@/?%~"
# Headers kept when a redirect leaves the origin; everything else the caller set may be a secret.
_CROSS_ORIGIN_HEADERS = {"accept", "accept-language", "user-agent"}
_REDIRECTS = {301, 302, 303, 307, 308}


def _why_refused(addr: Address) -> str | None:
    """Why `addr` is not a public destination, or None if it is."""
    if addr in _METADATA:
        return "cloud metadata"
    if isinstance(addr, IPv6Address):
        inner = addr.sixtofour or (IPv4Address(int(addr) & 0xFFFFFFFF) if addr in _NAT64 else None)
        if inner is not None:  # the relay or NAT64 gateway forwards to the embedded IPv4
            why = _why_refused(inner)
            return f"{why} embedded in {'6to4' if addr.sixtofour else 'NAT64'}" if why else None
    for flag in _FLAGS:
        if getattr(addr, f"is_{flag}"):
            return flag.replace("_", "-")
    for label, net in _NAMED_NETS:
        if addr in net:
            return label
    if addr.is_private:
        return "private"
    if addr.is_reserved or not addr.is_global:
        return "reserved (not globally routable)"
    return None


def _normalise(addr: Address) -> Address:
    # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket: check and connect to the IPv4 itself.
    return addr.ipv4_mapped if isinstance(addr, IPv6Address) and addr.ipv4_mapped else addr


def _numeric_host(host: str) -> Address | None:
    """The address a numeric host means in any spelling a resolver accepts, or None for a name."""
    if ":" in host:
        try:
            return _normalise(ip_address(host))
        except ValueError:
            raise EgressRefused(f"{host!r} is not a valid IPv6 address") from None
    parts = host.split(".")
    if not _NUMBER.fullmatch(parts[-1]):
        return None
    try:  # inet_aton rules: 1-4 parts, each decimal, 0-octal or 0x-hex; the last fills the rest
        values = [
            int(p, 16) if p.startswith("0x") else int(p, 8 if p[:1] == "0" else 10) for p in parts
        ]
    except ValueError:
        raise EgressRefused(f"{host!r} is not a valid IPv4 address") from None
    rest = 5 - len(parts)
    if len(parts) > 4 or any(v > 255 for v in values[:-1]) or values[-1] >= 256**rest:
        raise EgressRefused(f"{host!r} is not a valid IPv4 address")
    number = 0
    for v in values[:-1]:
        number = number * 256 + v
    return IPv4Address(number * 256**rest + values[-1])


def _networks(allow: Iterable[str | Network]) -> list[Network]:
    try:
        return [n if isinstance(n, IPv4Network | IPv6Network) else ip_network(n) for n in allow]
    except ValueError as exc:
        raise ConfigError(f"egress allow list: {exc}; give networks like 10.20.0.0/16") from None


class _Target(NamedTuple):
    scheme: str
    host: str  # a name, or the normalised address
    port: int
    target: str  # path and query, percent-encoded
    addresses: list[Address]


def _check(url: str, resolver: Resolver, allow: list[Network]) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise EgressRefused("the URL is malformed (host or port)") from None
    if parts.scheme not in ("http", "https"):
        raise EgressRefused(f"only http and https URLs may be called, not {parts.scheme!r}")
    if "@" in parts.netloc:
        raise EgressRefused("URLs may not carry credentials (user@); keep them server-side")
    try:
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise EgressRefused("the URL's host is not a valid name") from None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    literal = _numeric_host(host)
    if literal is not None:
        addresses = [literal]
    elif not _NAME.fullmatch(host) or len(host) > 253:
        raise EgressRefused("the URL's host is not a valid name")
    else:
        try:
            addresses = [_normalise(ip_address(a)) for a in resolver(host, port)]
        except (OSError, ValueError):
            raise EgressFailed(f"cannot resolve {host}") from None
        if not addresses:
            raise EgressFailed(f"{host} has no address")
    for addr in addresses:  # one non-public answer refuses the host: any of them may be used
        allowed = addr not in _METADATA and any(addr in net for net in allow)
        why = None if allowed else _why_refused(addr)
        if why:
            where = f"{addr} is" if literal is not None else f"{host} resolves to {addr}, which is"
            raise EgressRefused(f"refused: {where} not a public address ({why})")
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    query = f"?{quote(parts.query, safe=_SAFE_PATH)}" if parts.query else ""
    host = host if literal is None else str(literal)
    return _Target(parts.scheme, host, port, path + query, addresses)


def check_url(url: str, resolver: Resolver, allow: Iterable[str | Network] = ()) -> list[Address]:
    """Check `url` as `Egress.fetch` would, without connecting; return the checked addresses.

    Raises EgressRefused (scheme, credentials, non-public address) or EgressFailed (no address).
    """
    return _check(url, resolver, _networks(allow)).addresses


def _left(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    """The timeout for one socket operation: never past the whole call's deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's time budget is spent")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """Caps every socket operation at what is left of the whole call's time budget."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the checked address whatever host the URL names: no second DNS lookup.

    httpcore still uses the URL's host for TLS (SNI and certificate check) and we send it as Host.
    """

    def __init__(self, address: Address, deadline: float) -> None:
        self._address, self._deadline, self._inner = str(address), deadline, httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(
            self._address, port, timeout, local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)


class Egress:
    """Outbound HTTP(S) under the SSRF policy; one instance may serve many calls (no state kept)."""

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        allow: Sequence[str] = (),
        max_redirects: int = 3,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.resolver = resolver or system_resolver
        self.allow = _networks(allow)  # networks the operator permits, e.g. a government intranet
        self.max_redirects = max_redirects
        self.ssl_context = ssl_context or httpcore.default_ssl_context()

    def fetch(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        timeout_s: float,
        max_bytes: int,
    ) -> EgressResponse:
        """Call `url`, following up to `max_redirects` redirects, each checked like the first.

        `timeout_s` bounds the whole call; a body over `max_bytes` is refused. No proxies from
        the environment and no cookies are used. Raises EgressRefused or EgressFailed.
        """
        deadline = time.monotonic() + timeout_s
        method = method.upper()
        body = None if json is None else dumps(json, ensure_ascii=False).encode()
        ours = {"host", "content-length"} | ({"content-type"} if body is not None else set())
        sent = {k: v for k, v in (headers or {}).items() if k.lower() not in ours}
        if body is not None:
            sent["Content-Type"] = "application/json"
        target = _check(url, self.resolver, self.allow)
        redirects = 0
        while True:
            status, got, content = self._send(target, method, sent, body, deadline, max_bytes)
            if status not in _REDIRECTS or "location" not in got:
                return EgressResponse(status, got, content, url)
            redirects += 1
            if redirects > self.max_redirects:
                raise EgressRefused(f"more than {self.max_redirects} redirects")
            url = urljoin(url, got["location"])
            following = _check(url, self.resolver, self.allow)
            if following[:3] != target[:3]:
                sent = {k: v for k, v in sent.items() if k.lower() in _CROSS_ORIGIN_HEADERS}
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                sent = {k: v for k, v in sent.items() if k.lower() != "content-type"}
            target = following

    def _send(
        self,
        t: _Target,
        method: str,
        headers: dict[str, str],
        body: bytes | None,
        deadline: float,
        max_bytes: int,
    ) -> tuple[int, dict[str, str], bytes]:
        host = f"[{t.host}]" if ":" in t.host else t.host
        if t.port != (443 if t.scheme == "https" else 80):
            host = f"{host}:{t.port}"
        url = httpcore.URL(scheme=t.scheme, host=t.host, port=t.port, target=t.target)
        timeouts = dict.fromkeys(("connect", "read", "write", "pool"), deadline - time.monotonic())
        ext = {"timeout": timeouts}
        backend = _PinnedBackend(t.addresses[0], deadline)
        pool = httpcore.ConnectionPool(ssl_context=self.ssl_context, network_backend=backend)
        sent = [("Host", host), *headers.items()]
        try:
            with pool, pool.stream(method, url, headers=sent, content=body, extensions=ext) as r:
                got: dict[str, str] = {}
                for name, value in r.headers:
                    key, text = name.decode("latin-1").lower(), value.decode("latin-1")
                    got[key] = f"{got[key]}, {text}" if key in got else text
                content = bytearray()
                redirect = r.status in _REDIRECTS and "location" in got
                for chunk in [] if redirect else r.iter_stream():
                    content += chunk
                    if len(content) > max_bytes:
                        raise EgressRefused(f"response larger than {max_bytes} bytes")
                return r.status, got, bytes(content)
        except httpcore.TimeoutException:
            raise EgressFailed(f"{t.host} did not answer in time") from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol):
            raise EgressFailed(f"could not complete the call to {t.host}") from None
