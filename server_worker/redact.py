"""Credentials in URLs, hidden wherever a URL is shown or logged.

Why: an input URL may carry its own access, ``https://user:password@host/x.nwb`` or a signed
link (``?token=...``, S3's ``X-Amz-Signature=...``). The worker needs it whole (it gets it in
its claim), but a job record, a log, the file list, an error message or a terminal is read by
other people, so each of those shows ``https://***@host/x.nwb`` and ``?token=***`` instead.
One function does it (``redact_url``) and works on any text, so a log line or an error message
that merely mentions a URL is covered as well as the URL itself. It is idempotent.
"""

from __future__ import annotations

import re

__all__ = ["HIDDEN", "redact_url"]

#: What a hidden credential is shown as.
HIDDEN = "***"

#: ``scheme://userinfo@``: the userinfo runs to the last ``@`` before the authority ends (a
#: password may hold a raw ``@``).
_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#\\]*@")

#: Query parameters whose value is a secret: tokens, keys, signatures, passwords (AWS, GCS and
#: Azure signed URLs included). Their value is hidden; the name stays, to say what was there.
_SECRET_QUERY = re.compile(
    r"([?&;](?:[\w.-]*?)(?:token|signature|sig|secret|password|passwd|pwd|key|credential"
    r"|auth)[\w.-]*=)[^&#;\s'\"]*",
    re.IGNORECASE,
)


def redact_url(text: str) -> str:
    """``text`` with each URL's ``user:password@`` and secret query values replaced by
    ``***`` (``https://***@host/x?token=***&label=a.nwb``); anything else unchanged."""
    if not text or ("@" not in text and "=" not in text):
        return text
    text = _USERINFO.sub(rf"\1{HIDDEN}@", text)
    return _SECRET_QUERY.sub(rf"\1{HIDDEN}", text)
