"""The embedded Label Studio's SSRF guard, with one hole: trustlab's ML backend.

Label Studio refuses ML backends (and URL imports) on loopback and private networks
unless its guard is switched off. trustlab keeps the guard and replaces its default list
with the same special-purpose networks (IANA registries) minus the one /32 the
suggestions service listens on (``LABELING_ML_HOST``): Label Studio can reach that
address and no other local one.
"""

from __future__ import annotations

import ipaddress

from hub.errors import TrustlabError

# IPv4 and IPv6 special-purpose networks (RFC 6890 and successors) a server must not reach
# on a user's behalf.
RESERVED = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
    "2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "ff00::/8",
)  # fmt: skip


def banned_except(host: str) -> list[str]:
    """RESERVED with ``host`` (a literal loopback IPv4 address) carved out."""
    try:
        hole = ipaddress.IPv4Address(host)
    except ValueError:
        raise TrustlabError(
            f"LABELING_ML_HOST must be a loopback IPv4 address such as 127.0.0.77, not {host!r}"
        ) from None
    if not hole.is_loopback:
        raise TrustlabError(f"LABELING_ML_HOST {host} is not a loopback address (127.0.0.0/8)")
    out: list[str] = []
    for text in RESERVED:
        net = ipaddress.ip_network(text)
        if net.version == 4 and hole in net:
            out.extend(str(n) for n in net.address_exclude(ipaddress.ip_network(f"{hole}/32")))
        else:
            out.append(text)
    return out


def env(host: str) -> dict[str, str]:
    """Label Studio's settings for the guard (comma-separated, as its settings read them)."""
    return {
        "SSRF_PROTECTION_ENABLED": "true",
        "ML_BLOCK_LOCAL_IP": "true",
        "USE_DEFAULT_BANNED_SUBNETS": "false",
        "USER_ADDITIONAL_BANNED_SUBNETS": ",".join(banned_except(host)),
    }
