"""Web logins through the ProbeContext: our digest against lighttpd's (third-party) server."""

import pytest

from scanner.http_login import Access, authenticated_get
from scanner.limits import Limits

from .probes.digest_server import DEVICE_INFO, creds, lighttpd
from .probes.loopback import loopback_ctx

__all__ = ["lighttpd"]  # the module-scoped fixture, imported for pytest


@pytest.mark.loopback
async def test_digest_against_lighttpd(lighttpd):
    ctx = loopback_ctx()
    path = "/ISAPI/System/deviceInfo"
    missing = await authenticated_get(ctx, lighttpd, 80, path, ())
    assert (missing.access, missing.reply.status) == (Access.MISSING, 401)
    login = creds(lighttpd).credentials.http_logins(lighttpd)
    accepted = await authenticated_get(ctx, lighttpd, 80, path, login)
    assert accepted.access is Access.ACCEPTED
    assert accepted.reply.status == 200
    assert accepted.body == DEVICE_INFO
    wrong = creds(lighttpd, "not-the-password").credentials.http_logins(lighttpd)
    # lighttpd, like recorder firmware, holds back its answer to a wrong login for a while.
    patient = loopback_ctx(Limits(connect_timeout_s=1, read_timeout_s=5, exchange_timeout_s=8))
    refused = await authenticated_get(patient, lighttpd, 80, path, wrong)
    assert refused.access is Access.REJECTED
    # A basic-only entry is never sent to a server that offers digest only.
    basic = creds(lighttpd, scheme="basic").credentials.http_logins(lighttpd)
    assert (await authenticated_get(ctx, lighttpd, 80, path, basic)).access is Access.UNSUPPORTED
