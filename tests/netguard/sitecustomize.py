"""Network guard for tests: put this folder on PYTHONPATH and set GMTNET_NET_GUARD_LOG to a file.

Every Python-level attempt to reach a host other than loopback (socket connect/sendto, name
lookup) is written to that file and refused with OSError, so a test can fail on any outside
connection the app (or a library it uses, e.g. Streamlit's external-IP lookup) tries to make.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("GMTNET_NET_GUARD_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "", None}


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str, host) -> None:
    with open(_LOG, "a") as fh:
        fh.write(f"{what} {host}\n")
    raise OSError(f"outside network access blocked by the test guard: {what} {host}")


if _LOG:
    _connect, _connect_ex, _sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
    _getaddrinfo = socket.getaddrinfo

    def _host(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            return address[0]
        return None

    def connect(self, address):
        host = _host(self, address)
        if host is not None and not _is_local(host):
            _refuse("connect", host)
        return _connect(self, address)

    def connect_ex(self, address):
        host = _host(self, address)
        if host is not None and not _is_local(host):
            _refuse("connect_ex", host)
        return _connect_ex(self, address)

    def sendto(self, data, *args):
        host = _host(self, args[-1]) if args else None
        if host is not None and not _is_local(host):
            _refuse("sendto", host)
        return _sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _refuse("getaddrinfo", host)
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
    socket.getaddrinfo = getaddrinfo
