"""Certificate pages (证书): issuance by batch, the certificate list and detail (corrections,
revocation requests), the centre's revocation decisions, 证书发放登记表, the PDF, the candidate's
我的证书; and the public verification pages (``verify_bp``: ``/verify``, ``/verify/key``).

The centre's signing key lives in ``CERTIFICATE_KEY_DIR`` (default ``instance/keys``), generated
on first use; the QR code links to ``PUBLIC_BASE_URL`` + ``/verify?s=…`` (default: the address
the request came to)."""

from __future__ import annotations

import os
from functools import cache
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Blueprint, current_app, request

from grading.certificates.signing import load_signing_key

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
verify_bp = Blueprint("verify", __name__, url_prefix="/verify")


@cache
def _key(directory: str) -> Ed25519PrivateKey:
    return load_signing_key(directory)


def signing_key() -> Ed25519PrivateKey:
    """The centre's key (made on first use), cached per process and directory."""
    return _key(current_app.config.get("CERTIFICATE_KEY_DIR") or os.path.join(current_app.instance_path, "keys"))


def base_url() -> str:
    configured = current_app.config.get("PUBLIC_BASE_URL")
    return (configured or request.host_url).rstrip("/")


def verify_link(token: str) -> str:
    """The QR code's content: the public verify page carrying the signed statement."""
    return f"{base_url()}/verify?{urlencode({'s': token})}"


def lookup_lines() -> list[str]:
    """The lookup addresses printed on a certificate: this platform's page, then the configured ones."""
    return [f"本平台证书查询：{base_url()}/verify", *current_app.config.get("CERTIFICATE_LOOKUP_ADDRESSES", [])]


from web.certificates import verify_views, views  # noqa: E402,F401
