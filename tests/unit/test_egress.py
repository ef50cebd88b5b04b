"""apis.egress: the SSRF policy, DNS pinning, redirects and limits — on this machine only.

Every test runs under the autouse `connections` guard: socket connects to anything but
loopback fail the test (and every connect is recorded), name lookups through the system
resolver fail the test, so nothing here can reach another host or a DNS server. Names are
answered by `StubResolver`; the upstream is an `http.server` on 127.0.0.1, reached through
`allow=["127.0.0.1/32"]`.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apis.egress import Egress, EgressFailed, EgressRefused, check_url
from hub.errors import ConfigError

NAME = "api.example.test"
LOCAL = ["127.0.0.1/32"]


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connect the test makes; anything but loopback fails the test at once."""
    made: list[tuple[str, int]] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"the test tried to connect to {address}")
        made.append((address[0], address[1]))
        real_connect(sock, address)

    def numeric_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        try:  # socket.create_connection passes the pinned address through here: no DNS
            ipaddress.ip_address(host)
        except ValueError:
            raise AssertionError(f"the test looked up {host!r} in the system resolver") from None
        return real_getaddrinfo(host, port, *args, **kwargs)

    def no_lookup(*args: Any) -> Any:
        raise AssertionError(f"the test made a DNS lookup: {args}")

    def no_connect_ex(*args: Any) -> Any:
        raise AssertionError(f"the test used connect_ex: {args}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", no_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", numeric_getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", no_lookup)
    monkeypatch.setattr(socket, "gethostbyaddr", no_lookup)
    return made


class StubResolver:
    """Answers from a dict (a list of answers per name is used up one per call)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers, self.calls = answers, []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = self.answers[host]
        return answer.pop(0) if answer and isinstance(answer[0], list) else answer


# ---------------------------------------------------------------- refusals, nothing connects

ADDRESS_CLASSES = [
    ("127.0.0.1", "loopback"),
    ("127.9.9.9", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.5", "private"),
    ("172.16.3.4", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),  # ULA fc00::/7
    ("169.254.10.1", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.100.100.200", "CGNAT"),  # Alibaba Cloud metadata
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"),
    ("239.1.2.3", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("198.18.0.1", "private"),  # benchmarking
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("::ffff:10.0.0.1", "private"),  # IPv4-mapped: checked as the IPv4 it is
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::10.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("64:ff9b::a00:1", "private embedded in NAT64"),  # 10.0.0.1
    ("64:ff9b::7f00:1", "loopback embedded in NAT64"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:a00:1::", "private embedded in 6to4"),  # 10.0.0.1
    ("2002:a9fe:a9fe::", "cloud metadata embedded in 6to4"),  # 169.254.169.254
    ("2001::1", "Teredo"),
    ("192.88.99.1", "6to4 relay"),
]


@pytest.mark.parametrize(("address", "why"), ADDRESS_CLASSES)
def test_a_name_resolving_to_a_non_public_address_is_refused_before_connecting(
    address: str, why: str, connections: list
) -> None:
    egress = Egress(resolver=StubResolver({NAME: [address]}))
    with pytest.raises(EgressRefused, match=why):
        egress.fetch("GET", f"https://{NAME}/v1/people", timeout_s=5, max_bytes=1000)
    assert connections == []


@pytest.mark.parametrize(("address", "why"), ADDRESS_CLASSES)
def test_the_same_address_as_a_url_literal_is_refused_without_resolving(
    address: str, why: str, connections: list
) -> None:
    resolver = StubResolver({})
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(EgressRefused, match=why):
        Egress(resolver=resolver).fetch("GET", f"http://{host}/", timeout_s=5, max_bytes=1000)
    assert resolver.calls == []
    assert connections == []


@pytest.mark.parametrize(
    ("host", "means"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "127.0.0.1"),
        ("[::ffff:7f00:1]", "127.0.0.1"),
        ("012.0.0.5", "10.0.0.5"),
        ("0", "0.0.0.0"),
    ],
)
def test_numeric_hosts_in_any_spelling_are_normalised_then_checked(
    host: str, means: str, connections: list
) -> None:
    resolver = StubResolver({})
    with pytest.raises(EgressRefused, match=f"refused: {means} is not a public address"):
        Egress(resolver=resolver).fetch("GET", f"http://{host}:8080/", timeout_s=5, max_bytes=1)
    assert check_url(f"http://{host}/", resolver, allow=[f"{means}/32"]) == [
        ipaddress.ip_address(means)
    ]
    assert resolver.calls == []
    assert connections == []


@pytest.mark.parametrize("host", ["0xa9.0xfe.0xa9.0xfe", "2852039166", "0251.0376.0251.0376"])
def test_numeric_spellings_of_the_metadata_address_are_refused(host: str) -> None:
    with pytest.raises(
        EgressRefused, match=r"169\.254\.169\.254 is not a public address \(cloud metadata"
    ):
        check_url(f"http://{host}/latest/meta-data", StubResolver({}), allow=["0.0.0.0/0"])


@pytest.mark.parametrize("host", ["1.2.3.256", "08.0.0.1", "0x100.0.0.1", "1.2.3.4.5", "foo.123"])
def test_malformed_numeric_hosts_are_refused(host: str) -> None:
    resolver = StubResolver({})
    with pytest.raises(EgressRefused, match="not a valid IPv4 address"):
        check_url(f"http://{host}/", resolver)
    assert resolver.calls == []


@pytest.mark.parametrize(
    "answers",
    [["93.184.215.14", "10.0.0.5"], ["10.0.0.5", "93.184.215.14"], ["2606:4700::1", "::1"]],
)
def test_one_non_public_answer_among_public_ones_refuses_the_name(
    answers: list[str], connections: list
) -> None:
    egress = Egress(resolver=StubResolver({NAME: answers}))
    with pytest.raises(EgressRefused, match=f"{NAME} resolves to"):
        egress.fetch("GET", f"https://{NAME}/", timeout_s=5, max_bytes=1000)
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        f"gopher://{NAME}:70/_GET",
        f"ftp://{NAME}/pub",
        f"dict://{NAME}:11211/stat",
        "javascript:alert(1)",
        f"//{NAME}/no-scheme",
    ],
)
def test_only_http_and_https_are_allowed(url: str, connections: list) -> None:
    resolver = StubResolver({NAME: ["93.184.215.14"]})
    with pytest.raises(EgressRefused, match="only http and https"):
        Egress(resolver=resolver).fetch("GET", url, timeout_s=5, max_bytes=1000)
    assert resolver.calls == []
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        f"https://svc:s3cret@{NAME}/",
        f"https://s3cret@{NAME}/",
        f"http://{NAME}\\@127.0.0.1/",
        "http://s3cret@93.184.215.14/",
    ],
)
def test_userinfo_is_refused_without_echoing_it(url: str, connections: list) -> None:
    with pytest.raises(EgressRefused, match="may not carry credentials") as refused:
        check_url(url, StubResolver({NAME: ["93.184.215.14"]}))
    assert "s3cret" not in str(refused.value)
    assert connections == []


@pytest.mark.parametrize(
    "url", [f"http://{NAME}:99999/", "http://[::1/", "http://ex%61mple.test/", "http:///x"]
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(EgressRefused):
        check_url(url, StubResolver({}))


def test_public_addresses_pass_the_check_and_unknown_names_fail() -> None:
    resolver = StubResolver(
        {NAME: ["93.184.215.14", "2606:4700::1"], "nat64.test": ["64:ff9b::808:808"]}
    )
    assert check_url(f"https://{NAME}/x", resolver) == [
        ipaddress.ip_address("93.184.215.14"),
        ipaddress.ip_address("2606:4700::1"),
    ]
    assert check_url("http://nat64.test/", resolver) == [ipaddress.ip_address("64:ff9b::808:808")]
    with pytest.raises(EgressFailed, match=r"cannot resolve nowhere\.test"):
        check_url("http://nowhere.test/", resolver)
    with pytest.raises(EgressFailed, match="has no address"):
        check_url("http://empty.test/", StubResolver({"empty.test": []}))


def test_allow_admits_exactly_the_operator_networks_but_never_metadata() -> None:
    resolver = StubResolver(
        {
            "intranet.gov.test": ["10.20.1.5"],
            "other.gov.test": ["10.21.0.1"],
            "md.test": ["169.254.169.254"],
        }
    )
    allow = ["10.20.0.0/16", "169.254.0.0/16"]
    assert check_url("http://intranet.gov.test/", resolver, allow) == [
        ipaddress.ip_address("10.20.1.5")
    ]
    with pytest.raises(EgressRefused, match="private"):
        check_url("http://other.gov.test/", resolver, allow)
    with pytest.raises(EgressRefused, match="cloud metadata"):
        check_url("http://md.test/", resolver, allow)
    with pytest.raises(ConfigError, match="allow list"):
        Egress(allow=["10.20.0.0/33"])


def test_the_default_resolver_is_getaddrinfo_and_its_answers_are_checked(
    monkeypatch: pytest.MonkeyPatch, connections: list
) -> None:
    asked = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list:
        asked.append((host, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(EgressRefused, match=r"10\.0\.0\.5"):
        Egress().fetch("GET", f"https://{NAME}/", timeout_s=5, max_bytes=1000)
    assert asked == [(NAME, 443)]
    assert connections == []


# ---------------------------------------------------------------- against a local server


class Upstream(ThreadingHTTPServer):
    """A recording HTTP(S) server on 127.0.0.1 with a few routes the tests need."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # ends the slow routes when the test is done
        self.tls = tls
        self.server_names: list[str | None] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call getfqdn(), a reverse DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed TLS handshakes are expected in the https tests

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class _Handler(BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append(
            {
                "method": self.command,
                "path": url.path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length),
            }
        )
        route, _, arg = url.path.strip("/").partition("/")
        try:
            if route == "ok":
                self._send(200, b'{"ok": true}', Content_Type="application/json", Set_Cookie="up=1")
            elif route == "status":
                self._send(int(arg), b"upstream says s3cret")
            elif route == "redirect":
                self._send(int(query.get("status", "302")), Location=query["to"], Set_Cookie="up=2")
            elif route == "chain":
                n = int(arg)
                self._send(302, Location=f"/chain/{n - 1}") if n else self._send(200, b"end")
            elif route == "big":
                self._send(200, b"x" * int(arg))
            elif route == "unsized":  # HTTP/1.0 without Content-Length: the body ends at close
                self.send_response(200)
                self.end_headers()
                for _ in range(int(arg) // 100):
                    self.wfile.write(b"y" * 100)
            elif route == "slow":
                self.server.release.wait(10)
                self._send(200, b"late")
            elif route == "drip":  # each byte arrives quickly; the whole body takes 5 s
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    if self.server.release.wait(0.05):
                        return
                    self.wfile.write(b"z")
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass


@contextlib.contextmanager
def serving(server: Upstream) -> Iterator[Upstream]:
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serving(Upstream()) as server:
        yield server


def _egress(**answers: Any) -> tuple[Egress, StubResolver]:
    resolver = StubResolver({NAME: ["127.0.0.1"], "other.example.test": ["127.0.0.1"], **answers})
    return Egress(resolver=resolver, allow=LOCAL), resolver


def test_a_call_reaches_the_allowed_server_with_the_original_host(
    upstream: Upstream, connections: list
) -> None:
    egress, resolver = _egress()
    port = upstream.server_port
    response = egress.fetch("GET", f"http://{NAME}:{port}/ok?q=a b", timeout_s=5, max_bytes=1000)
    assert (response.status, response.body) == (200, b'{"ok": true}')
    assert response.headers["content-type"] == "application/json"
    assert response.url == f"http://{NAME}:{port}/ok?q=a b"
    [request] = upstream.requests
    assert request["headers"]["Host"] == f"{NAME}:{port}"
    assert request["path"] == "/ok"
    assert resolver.calls == [NAME]
    assert connections == [("127.0.0.1", port)]


def test_the_same_name_without_allow_is_refused(upstream: Upstream, connections: list) -> None:
    egress = Egress(resolver=StubResolver({NAME: ["127.0.0.1"]}))
    with pytest.raises(EgressRefused, match="loopback"):
        egress.fetch("GET", f"http://{NAME}:{upstream.server_port}/ok", timeout_s=5, max_bytes=1000)
    assert upstream.requests == []
    assert connections == []


def test_a_json_body_is_posted(upstream: Upstream) -> None:
    egress, _ = _egress()
    url = f"http://{NAME}:{upstream.server_port}/ok"
    egress.fetch("post", url, json={"名字": "张三"}, timeout_s=5, max_bytes=1000)
    [request] = upstream.requests
    assert request["method"] == "POST"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"名字": "张三"}


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("http://intranet.example.test/admin", "intranet.example.test resolves to 10.0.0.5"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
def test_a_redirect_to_a_forbidden_target_is_refused_without_connecting(
    upstream: Upstream, connections: list, target: str, why: str
) -> None:
    egress, _ = _egress(**{"intranet.example.test": ["10.0.0.5"]})
    url = f"http://{NAME}:{upstream.server_port}/redirect?to={target}"
    with pytest.raises(EgressRefused, match=why):
        egress.fetch("GET", url, timeout_s=5, max_bytes=1000)
    assert len(upstream.requests) == 1
    assert connections == [("127.0.0.1", upstream.server_port)]


def test_each_redirect_hop_is_resolved_and_checked_again(
    upstream: Upstream, connections: list
) -> None:
    # The first answer is the allowed server; the redirect back to the same name gets 10.0.0.5.
    egress, resolver = _egress(**{NAME: [["127.0.0.1"], ["10.0.0.5"]]})
    port = upstream.server_port
    url = f"http://{NAME}:{port}/redirect?to=http://{NAME}:{port}/ok"
    with pytest.raises(EgressRefused, match=r"10\.0\.0\.5"):
        egress.fetch("GET", url, timeout_s=5, max_bytes=1000)
    assert resolver.calls == [NAME, NAME]
    assert connections == [("127.0.0.1", port)]


def test_redirects_are_followed_up_to_the_limit(upstream: Upstream) -> None:
    egress, _ = _egress()
    base = f"http://{NAME}:{upstream.server_port}"
    response = egress.fetch("GET", f"{base}/chain/3", timeout_s=5, max_bytes=1000)
    assert (response.body, response.url) == (b"end", f"{base}/chain/0")
    upstream.requests.clear()
    with pytest.raises(EgressRefused, match="more than 3 redirects"):
        egress.fetch("GET", f"{base}/chain/4", timeout_s=5, max_bytes=1000)
    assert [r["path"] for r in upstream.requests] == [
        "/chain/4",
        "/chain/3",
        "/chain/2",
        "/chain/1",
    ]


SECRETS = {
    "Authorization": "Bearer s3cret",
    "Cookie": "sid=s3cret",
    "X-Api-Key": "s3cret",
    "Accept": "application/json",
}


def test_credentials_are_dropped_when_a_redirect_changes_origin(upstream: Upstream) -> None:
    egress, _ = _egress()
    port = upstream.server_port
    url = f"http://{NAME}:{port}/redirect?to=http://other.example.test:{port}/ok"
    egress.fetch("GET", url, headers=SECRETS, timeout_s=5, max_bytes=1000)
    first, second = (r["headers"] for r in upstream.requests)
    assert {k: first[k] for k in SECRETS} == SECRETS
    assert second["Host"] == f"other.example.test:{port}"
    assert second["Accept"] == "application/json"
    assert not {"Authorization", "Cookie", "X-Api-Key"} & set(second)


def test_a_redirect_to_another_port_is_another_origin(upstream: Upstream) -> None:
    with serving(Upstream()) as elsewhere:
        egress, _ = _egress()
        target = f"http://{NAME}:{elsewhere.server_port}/ok"
        url = f"http://{NAME}:{upstream.server_port}/redirect?to={target}"
        egress.fetch("GET", url, headers=SECRETS, timeout_s=5, max_bytes=1000)
        [second] = elsewhere.requests
    assert second["headers"]["Host"] == f"{NAME}:{elsewhere.server_port}"
    assert not {"Authorization", "Cookie", "X-Api-Key"} & set(second["headers"])


def test_credentials_are_kept_on_a_same_origin_redirect(upstream: Upstream) -> None:
    egress, _ = _egress()
    egress.fetch(
        "GET",
        f"http://{NAME}:{upstream.server_port}/redirect?to=/ok",
        headers=SECRETS,
        timeout_s=5,
        max_bytes=1000,
    )
    assert all({k: r["headers"][k] for k in SECRETS} == SECRETS for r in upstream.requests)
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [
        (303, "GET", b""),
        (302, "GET", b""),
        (301, "GET", b""),
        (307, "POST", b'{"a": 1}'),
        (308, "POST", b'{"a": 1}'),
    ],
)
def test_redirect_status_decides_the_next_method(
    upstream: Upstream, status: int, method: str, body: bytes
) -> None:
    egress, _ = _egress()
    url = f"http://{NAME}:{upstream.server_port}/redirect?status={status}&to=/ok"
    egress.fetch("POST", url, json={"a": 1}, timeout_s=5, max_bytes=1000)
    again = upstream.requests[1]
    assert (again["method"], again["body"]) == (method, body)
    assert ("Content-Type" in again["headers"]) == bool(body)


@pytest.mark.parametrize("route", ["big", "unsized"])
def test_a_body_over_the_limit_is_refused(upstream: Upstream, route: str) -> None:
    egress, _ = _egress()
    base = f"http://{NAME}:{upstream.server_port}/{route}"
    with pytest.raises(EgressRefused, match="response larger than 1000 bytes"):
        egress.fetch("GET", f"{base}/5000", timeout_s=5, max_bytes=1000)
    assert egress.fetch("GET", f"{base}/1000", timeout_s=5, max_bytes=1000).body[:1] in (b"x", b"y")


def test_a_server_that_does_not_answer_fails_within_the_timeout(upstream: Upstream) -> None:
    egress, _ = _egress()
    with pytest.raises(EgressFailed, match="did not answer in time"):
        egress.fetch(
            "GET", f"http://{NAME}:{upstream.server_port}/slow", timeout_s=0.3, max_bytes=1000
        )


def test_the_timeout_bounds_the_whole_call_not_each_read(upstream: Upstream) -> None:
    # Every byte comes 0.05 s after the last, well within 0.5 s; only a deadline on the whole
    # call stops the 5-second body.
    egress, _ = _egress()
    with pytest.raises(EgressFailed, match="did not answer in time"):
        egress.fetch(
            "GET", f"http://{NAME}:{upstream.server_port}/drip", timeout_s=0.5, max_bytes=1000
        )


def test_no_environment_proxy_and_no_cookie_jar_are_used(
    upstream: Upstream, connections: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(variable, "http://10.9.9.9:3128")
    egress, _ = _egress()
    base = f"http://{NAME}:{upstream.server_port}"
    egress.fetch("GET", f"{base}/redirect?to=/ok", timeout_s=5, max_bytes=1000)
    egress.fetch("GET", f"{base}/ok", timeout_s=5, max_bytes=1000)
    assert [r["headers"].get("Cookie") for r in upstream.requests] == [None, None, None]
    assert {address for address, _ in connections} == {"127.0.0.1"}


def test_the_checked_address_is_pinned_without_a_second_lookup(
    upstream: Upstream, connections: list
) -> None:
    # A rebinding resolver: the second answer would be the metadata service. The guard also
    # fails the test if anything asks the system resolver for the name.
    egress, resolver = _egress(**{NAME: [["127.0.0.1"], ["169.254.169.254"]]})
    response = egress.fetch(
        "GET", f"http://{NAME}:{upstream.server_port}/ok", timeout_s=5, max_bytes=1000
    )
    assert response.status == 200
    assert resolver.calls == [NAME]
    assert connections == [("127.0.0.1", upstream.server_port)]


def test_statuses_are_returned_and_raise_for_status_is_generic(upstream: Upstream) -> None:
    egress, _ = _egress()
    response = egress.fetch(
        "GET", f"http://{NAME}:{upstream.server_port}/status/502", timeout_s=5, max_bytes=1000
    )
    assert response.status == 502
    with pytest.raises(EgressFailed, match="HTTP status 502") as failed:
        response.raise_for_status()
    assert "s3cret" not in str(failed.value)


def test_a_closed_port_fails_with_a_generic_message() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    egress, _ = _egress()
    with pytest.raises(EgressFailed, match=f"could not complete the call to {NAME}$"):
        egress.fetch("GET", f"http://{NAME}:{port}/", headers=SECRETS, timeout_s=5, max_bytes=1000)


# ---------------------------------------------------------------- https: pinned IP, original name


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CA and a server certificate for api.example.test only (no IP in it)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trustlab test CA")])

    def build(subject: x509.Name, public: Any, ca: bool) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )

    ca = build(ca_name, ca_key.public_key(), True).sign(ca_key, hashes.SHA256())
    leaf = (
        build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)]), key.public_key(), False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("pki")
    (folder / "server.pem").write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {
        "ca": ca.public_bytes(serialization.Encoding.PEM).decode(),
        "server": folder / "server.pem",
    }


@pytest.fixture
def tls_upstream(pki: dict[str, Any]) -> Iterator[Upstream]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server"])
    server = Upstream(tls=context)
    context.sni_callback = lambda sock, name, ctx: server.server_names.append(name)
    with serving(server):
        yield server


def test_https_connects_to_the_pinned_ip_and_verifies_the_original_name(
    tls_upstream: Upstream, pki: dict[str, Any], connections: list
) -> None:
    resolver = StubResolver({NAME: ["127.0.0.1"]})
    client = ssl.create_default_context(cadata=pki["ca"])
    egress = Egress(resolver=resolver, allow=LOCAL, ssl_context=client)
    port = tls_upstream.server_port
    response = egress.fetch("GET", f"https://{NAME}:{port}/ok", timeout_s=5, max_bytes=1000)
    assert response.body == b'{"ok": true}'
    assert tls_upstream.server_names == [NAME]  # SNI
    assert tls_upstream.requests[0]["headers"]["Host"] == f"{NAME}:{port}"
    assert connections == [("127.0.0.1", port)]


def test_https_refuses_a_certificate_for_another_name(
    tls_upstream: Upstream, pki: dict[str, Any]
) -> None:
    # other.example.test pins to the same server, whose certificate names only api.example.test.
    resolver = StubResolver({"other.example.test": ["127.0.0.1"]})
    client = ssl.create_default_context(cadata=pki["ca"])
    egress = Egress(resolver=resolver, allow=LOCAL, ssl_context=client)
    with pytest.raises(EgressFailed, match="could not complete the call"):
        egress.fetch(
            "GET",
            f"https://other.example.test:{tls_upstream.server_port}/ok",
            timeout_s=5,
            max_bytes=1000,
        )
    assert tls_upstream.requests == []


def test_https_uses_the_system_trust_store_by_default(tls_upstream: Upstream) -> None:
    egress = Egress(resolver=StubResolver({NAME: ["127.0.0.1"]}), allow=LOCAL)
    with pytest.raises(EgressFailed):
        egress.fetch(
            "GET", f"https://{NAME}:{tls_upstream.server_port}/ok", timeout_s=5, max_bytes=1000
        )
    assert tls_upstream.requests == []
