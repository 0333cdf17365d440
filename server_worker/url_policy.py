"""Which URLs a job input may be fetched from: one policy for the broker and the worker.

Why: a job input is a URL a user types, and both the broker (it reads the file's metadata at
submission) and the worker (it downloads the file) fetch it from inside the lab's network.
Without a check, ``http://127.0.0.1:6379/`` or ``http://169.254.169.254/`` makes them reach
services no user should reach (blind SSRF). So an input's host is resolved (every address
``getaddrinfo`` gives, which also catches spellings such as ``http://2130706433/`` or
``http://[::ffff:127.0.0.1]/``) and refused when any address is loopback, link-local, private,
multicast, reserved or unspecified, unless ``allow_private`` (the ``allow_private_urls``
setting, which local test setups turn on). Only http and https are fetched.

Always allowed: the server's own files (``/files/`` and ``/api/store/`` on its own origin), so
the demo file ``http://127.0.0.1:8000/files/demo.nwb`` sorts with the default settings.

Every hop is checked: ``opener`` (urllib, the broker's range reads through nwbscope's
``HttpSource``) checks each request in a handler that runs before it is sent, redirects
included, and ``httpx_hook`` (the worker's downloads) is an httpx ``request`` event hook,
which httpx calls before each hop of a redirect chain.

DNS rebinding is handled on a best-effort basis only: the name is resolved for the check and
again by the connection, so a name whose answer changes in between (a TTL of 0) could still
reach a private address. Pinning the connection to the checked address would close that gap;
a deployment that needs it should also block these addresses at its firewall.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from nwbscope.errors import NwbscopeError, SourceError

from .settings import Settings

#: Paths of a server's own files: registered files and store objects.
OWN_PATHS = ("/files/", "/api/store/")
#: Host names of this machine, for the server's own origin.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedUrlError(NwbscopeError, ValueError):
    """An input URL the policy refuses (its message says why and which setting allows it)."""


@dataclass(frozen=True)
class UrlPolicy:
    """What may be fetched: public addresses, the own origins' files, and private addresses
    when ``allow_private``. ``hint`` says how to allow private addresses where this runs."""

    allow_private: bool = False
    #: ``(scheme, host, port)`` of the server's own origins; their ``own_paths`` always pass.
    own_origins: frozenset[tuple[str, str, int]] = frozenset()
    own_paths: tuple[str, ...] = OWN_PATHS
    hint: str = "turn on the allow_private_urls setting"

    @classmethod
    def for_server(cls, settings: Settings) -> UrlPolicy:
        """The broker's: its own files pass (on a loopback name, its ``host`` or one of its
        ``allowed_hosts``, at its ``port``); private addresses when
        ``settings.allow_private_urls``."""
        given = (*LOOPBACK_HOSTS, settings.host, *settings.allowed_hosts)
        names = {_host_of(h) for h in given} - {"", "*", "0.0.0.0", "::"}
        origins = frozenset((s, h, settings.port) for s in SCHEMES for h in names)
        return cls(settings.allow_private_urls, origins,
                   hint="start the server with --allow-private-urls")

    @classmethod
    def for_worker(cls, allow_private: bool, broker_url: str) -> UrlPolicy:
        """A worker's: the files of its broker (``--broker``) pass; a broker on loopback
        under any of this machine's loopback names."""
        scheme, host, port = _origin(broker_url)
        names = LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else (host,)
        return cls(allow_private, frozenset((scheme, h, port) for h in names),
                   hint="start the worker with --allow-private-urls")

    # ---- the check -------------------------------------------------------------------

    def check(self, url: str) -> None:
        """Raise BlockedUrlError when ``url`` may not be fetched, SourceError when its host
        does not resolve; return when it may."""
        scheme, host, port = _origin(url)
        if scheme not in SCHEMES:
            raise BlockedUrlError(f"only http and https inputs are fetched, not {scheme}://.")
        if self._own(url, (scheme, host, port)) or self.allow_private:
            return
        for address in resolve(host, port):
            reason = why_private(address)
            if reason:
                shown = f"{host} ({address})" if str(address) != host else host
                raise BlockedUrlError(
                    f"the input's host {shown} is {reason}. Inputs are fetched only from "
                    "public addresses, so a job cannot reach the services of this network; "
                    f"this server's own {' and '.join(self.own_paths)} are always allowed. To "
                    f"fetch inputs from private addresses (a lab file server), {self.hint}.")

    def _own(self, url: str, origin: tuple[str, str, int]) -> bool:
        if origin not in self.own_origins:
            return False
        path = unquote(urlsplit(url).path)
        if any(part in (".", "..") for part in path.replace("\\", "/").split("/")):
            return False
        return path.startswith(self.own_paths)

    # ---- the two HTTP clients -------------------------------------------------------------

    def opener(self) -> urllib.request.OpenerDirector:
        """A urllib opener that checks every request it sends, each redirect included (for
        ``HttpSource(url, opener=...)``)."""
        return urllib.request.build_opener(_CheckHandler(self))

    def httpx_hook(self) -> Callable[[Any], None]:
        """An httpx ``request`` event hook: ``httpx.Client(event_hooks={"request": [hook]})``
        checks each hop of a redirect chain before it is sent."""
        def hook(request: Any) -> None:
            self.check(str(request.url))
        return hook


class _CheckHandler(urllib.request.BaseHandler):
    """Checks each request before it is sent (urllib calls ``<scheme>_request`` for every
    request, the ones its redirect handler makes included)."""

    handler_order = 100  # before every other handler

    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy

    def http_request(self, request: urllib.request.Request) -> urllib.request.Request:
        self.policy.check(request.full_url)
        return request

    https_request = http_request

    ftp_request = file_request = http_request  # refused, with the reason


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (SourceError when it does not resolve)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise SourceError(f"Could not resolve the input's host {host!r}: {error}.") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in answers]


def why_private(address: Address) -> str:
    """What makes ``address`` private (``"a loopback address"``), or ``""`` when public.
    An IPv6 address that embeds an IPv4 one (mapped, 6to4) is judged by that one too."""
    embedded: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):  # the embedded IPv4 first: it says more
        embedded = [a for a in (address.ipv4_mapped, address.sixtofour) if a] + embedded
    for one in embedded:
        for test, words in (("is_unspecified", "an unspecified address"),
                            ("is_loopback", "a loopback address"),
                            ("is_link_local", "a link-local address"),
                            ("is_multicast", "a multicast address"),
                            ("is_private", "a private address"),
                            ("is_reserved", "a reserved address")):
            if getattr(one, test):
                return words
        if not one.is_global:
            return "not a public address"
    return ""


def _host_of(value: str) -> str:
    """A host name as settings give it, lower case, without port or brackets:
    ``[::1]:8000`` and ``::1`` -> ``::1``, ``lab.org:8000`` -> ``lab.org``."""
    value = value.strip().lower()
    if value.count(":") > 1 and not value.startswith("["):
        return value  # a bare IPv6 address
    try:
        return urlsplit(f"//{value}").hostname or ""
    except ValueError:
        return ""


def _origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``url``, lower case, with the scheme's default port."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError as error:
        raise BlockedUrlError(f"the input is not a valid URL ({error}).") from None
    if scheme in SCHEMES and not host:
        raise BlockedUrlError("the input URL names no host.")
    return scheme, host, port
