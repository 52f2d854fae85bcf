"""The centre's signing key and the signed statement a certificate's QR code carries.

A **statement** is the certificate's printed fields as compact JSON (UTF-8, sorted keys), signed
with the centre's Ed25519 key (``cryptography``). Its text form, as it appears in the QR code's
link (``/verify?s=<token>``), is ``base64url(payload) + "." + base64url(signature)`` without
padding. Anyone holding the centre's public key (published at ``/verify/key``) can check a
statement offline: ``python -m grading.certificates.verify_statement --key centre.pem TOKEN``.

The payload holds the ID number masked (first 6 and last 4 characters): a QR code can be read
by anyone who photographs the certificate and harvested in bulk, so the machine-readable copy
carries no more of the number than the public verify page shows. Fields (all strings but
``r``): ``v`` format (1), ``k`` key id, ``n`` number, ``r`` version, ``nm`` name, ``it`` ID type,
``id`` masked ID number, ``o`` occupation (code and name), ``w`` 工种 or 「--」, ``l`` level,
``i`` institution, ``d`` issue date.

The key pair is generated on first use and kept as a PKCS#8 PEM file (mode 0600) in a directory
the web layer configures (``CERTIFICATE_KEY_DIR``, default ``instance/keys``); creation is
exclusive, so two processes starting at once end up with the same key. The key id is the first
16 hex digits of the SHA-256 of the raw public key, so a rotated key is told apart.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from foundation.idcard import mask_id_number
from grading.certificates.models import CertificateVersion

KEY_FILE = "certificate-signing-key.pem"
FORMAT = 1
MAX_TOKEN = 2000  # characters; a statement is a few hundred


class BadStatement(Exception):
    """The token is not a statement signed by this key (malformed, tampered or another key)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) % 4 == 1 or not all(c.isalnum() or c in "-_" for c in text) or not text.isascii():
        raise BadStatement("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadStatement("not base64url") from exc


def load_signing_key(directory: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The centre's private key from ``directory``, generated there on first use."""
    folder = Path(directory)
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def statement_fields(number: str, version: CertificateVersion) -> dict[str, Any]:
    """The payload fields of a version of certificate ``number`` (without ``v`` and ``k``)."""
    return {
        "n": number,
        "r": version.version,
        "nm": version.name,
        "it": version.id_type_label,
        "id": mask_id_number(version.id_number),
        "o": f"{version.occupation_code} {version.occupation_name}",
        "w": version.work_type_text,
        "l": version.level_label,
        "i": version.institution_name,
        "d": version.issued_on.isoformat(),
    }


def sign_statement(key: Ed25519PrivateKey, fields: dict[str, Any]) -> str:
    payload = json.dumps({"v": FORMAT, "k": key_id(key), **fields}, ensure_ascii=False, sort_keys=True,
                         separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(key.sign(payload))}"


@dataclasses.dataclass(frozen=True)
class Statement:
    fields: dict[str, Any]

    @property
    def number(self) -> str:
        return str(self.fields.get("n", ""))

    @property
    def version(self) -> int:
        value = self.fields.get("r")
        return value if isinstance(value, int) else 0


def verify_statement(token: str, public_key: Ed25519PublicKey) -> Statement:
    """The statement's fields if ``token`` carries a valid signature by ``public_key``, else
    :class:`BadStatement`. The signature covers the exact payload bytes, so any change to them
    (or to the signature) fails."""
    token = (token or "").strip()
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        raise BadStatement("malformed")
    payload_text, signature_text = token.split(".")
    payload, signature = _unb64(payload_text), _unb64(signature_text)
    try:
        public_key.verify(signature, payload)
    except InvalidSignature as exc:
        raise BadStatement("signature") from exc
    try:
        fields = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # signed by us, so only if the key was misused
        raise BadStatement("payload") from exc
    if not isinstance(fields, dict) or fields.get("v") != FORMAT or fields.get("k") != key_id(public_key):
        raise BadStatement("format")
    return Statement(fields)
