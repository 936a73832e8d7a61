"""Where a webhook may be sent: public addresses only, and personal data over https only.

A subscription's URL is checked when it is created, and again at every delivery after its host
name is resolved, on the very addresses the connection then uses (`GuardedBackend`), so a name
that resolved to a public address yesterday and resolves to 127.0.0.1 today (DNS rebinding) gets
nothing. Refused: every address that is not globally routable — loopback, link-local (169.254/16,
the cloud metadata service), private (10/8, 172.16/12, 192.168/16, fc00::/7), unspecified,
multicast, reserved, shared address space (CGNAT, 100.64/10), and IPv4 written inside IPv6
(::ffff:127.0.0.1, 64:ff9b::/96). Numeric forms (2130706433, 0x7f.1, 127.1) resolve through the
same resolver the connection uses, so they are seen as what they are.

A deployment whose partner really is on the local network names that host in
NORIAI_WEBHOOK_ALLOW_HOSTS (exactly as written in the URL: `hooks.lan`, `10.0.0.7`, `::1`); only
those names skip the address check.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable

import certifi
import httpcore
import httpx

# Events that carry personal data: a subscription for one of them must use https://.
# manifest.published names riders and their pickup and drop-off places. Flight plans (halls and
# order numbers), delivery plans (counts), daily statistics (aggregates) and pings carry none.
HTTPS_REQUIRED = frozenset({"manifest.published"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class TargetRefused(Exception):
    """The target is not a public address (or its personal data would go over plain http)."""


def non_public(ip: IPAddress) -> str | None:
    """What kind of non-public address `ip` is ("loopback", "private", ...), or None if public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return non_public(inner)
    for kind, test in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if test:
            return kind
    return None if ip.is_global else "non-global"


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (numeric forms included), as the connection would see
    them. Raises OSError (socket.gaierror) when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # drop an IPv6 zone
        if ip not in out:
            out.append(ip)
    return out


def public_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses to connect to; TargetRefused if any of them is not public."""
    addresses = resolve(host, port)
    for ip in addresses:
        kind = non_public(ip)
        if kind is not None:
            where = f"{host}" if host.strip("[]") == str(ip) else f"{host} resolves to {ip}, which"
            raise TargetRefused(f"{where} is not a public address ({kind})")
    return addresses


def allowed(host: str, allow_hosts: Iterable[str]) -> bool:
    return host.lower().strip("[]") in {h.lower().strip("[]") for h in allow_hosts}


def target_problem(url: str, events: Iterable[str], allow_hosts: Iterable[str]) -> tuple[str, str] | None:
    """Why a webhook URL may not receive these events: ("https", text) or ("internal", text), or
    None. A name that does not resolve now is accepted (the partner's DNS may come later): every
    delivery checks again."""
    u = httpx.URL(url)
    needs_https = sorted(HTTPS_REQUIRED & set(events))
    if needs_https and u.scheme != "https":
        return "https", f"{', '.join(needs_https)} carries personal data: the URL must start with https://"
    if allowed(u.host, allow_hosts):
        return None
    try:
        public_addresses(u.host, u.port or (443 if u.scheme == "https" else 80))
    except TargetRefused as e:
        hint = "a partner on the town's own network is allowed by its host in NORIAI_WEBHOOK_ALLOW_HOSTS"
        return "internal", f"{e}; {hint}"
    except (OSError, UnicodeError):
        return None
    return None


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend that connects only to public addresses (or an allowed host):
    it resolves the name itself and connects to the address it checked, so the check and the
    connection see the same answer. TLS still verifies the certificate for the name in the URL."""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.allow_hosts = frozenset(allow_hosts)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if allowed(host, self.allow_hosts):
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = public_addresses(host, port)
        except OSError as e:
            raise httpcore.ConnectError(f"{host} does not resolve") from e
        failure: Exception | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                failure = e
        assert failure is not None  # getaddrinfo answers at least one address or raises
        raise failure


def ssl_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The certificates webhooks trust: the public CAs (certifi), and `ca_file` (a partner's own
    CA on a closed network, NORIAI_WEBHOOK_CA_FILE) when given."""
    ctx = ssl.create_default_context(cafile=certifi.where())
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def guarded_client(allow_hosts: Iterable[str], tls: ssl.SSLContext, timeout: float) -> httpx.Client:
    """An HTTP client for webhooks: public addresses only (GuardedBackend), no redirects, and no
    proxy from the environment (a proxy would connect where this check cannot see)."""
    transport = httpx.HTTPTransport(verify=tls, trust_env=False)
    # httpx takes no network backend of its own: its pool is rebuilt around the guarded one.
    transport._pool = httpcore.ConnectionPool(ssl_context=tls, network_backend=GuardedBackend(allow_hosts))
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
