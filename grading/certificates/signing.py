"""The centre's signing key and the signed statement a certificate's QR code carries.

A **statement** is the certificate's printed fields as a compact JSON array (UTF-8, fields in
the fixed order of :data:`FIELDS`), signed with the centre's Ed25519 key (``cryptography``).
Its text form, as it appears in the QR code's link (``/verify?s=<token>``), is
``base64url(payload) + "." + base64url(signature)`` without padding. Anyone holding the centre's
public key (published at ``/verify/key``) can check a statement offline:
``python -m grading.certificates.verify_statement --key centre.pem TOKEN``.

The payload holds the ID number masked (first 6 and last 4 characters): a QR code can be read
by anyone who photographs the certificate and harvested in bulk, so the machine-readable copy
carries no more of the number than the public verify page shows. It is kept short, because
the QR code's size (and the time to encode it) grows with it: codes rather than names where a
code identifies (the institution is positions 1–13 of the number), and an array rather than an
object (no key names). Fields, in this order: ``v`` format (1),
``k`` key id, ``n`` number, ``r`` version (1 = as issued, 2… after corrections), ``nm`` name,
``it`` ID type code (``resident_id`` …), ``id`` masked ID number, ``o`` occupation code,
``w`` 工种 (「--」 when none), ``l`` level digit (3 = 三级/高级工), ``d`` issue date
(``YYYY-MM-DD``). :func:`describe_fields` gives them in words.

The key pair is generated on first use and kept as a PKCS#8 PEM file (mode 0600) in a directory
the web layer configures (``CERTIFICATE_KEY_DIR``, default ``instance/keys``); creation is
exclusive, so two processes starting at once end up with the same key. The key id is the first
8 hex digits of the SHA-256 of the raw public key, so a rotated key is told apart.
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
from foundation.levels import LEVEL_NAMES
from foundation.people import ID_TYPE_LABELS, IdType
from grading.certificates.models import CertificateVersion

KEY_FILE = "certificate-signing-key.pem"
FORMAT = 1
#: The payload's array, position by position (see the module docstring).
FIELDS = ("v", "k", "n", "r", "nm", "it", "id", "o", "w", "l", "d")
MAX_TOKEN = 2000  # characters; a statement is a few hundred


class BadStatement(Exception):
    """The token is not a statement signed by this key (malformed, tampered or another key)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) % 4 == 1 or not all(c.isalnum() or c in "-_" for c in text) or not text.isascii():
        raise BadStatement("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadStatement("not base64url") from exc
    # Only the canonical spelling: the last character's unused low bits must be zero, or two
    # texts would decode to the same bytes and a changed character could still verify.
    if _b64(data) != text:
        raise BadStatement("not base64url")
    return data


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
    return hashlib.sha256(raw).hexdigest()[:8]


def statement_fields(number: str, version: CertificateVersion) -> dict[str, Any]:
    """The payload fields of a version of certificate ``number`` (without ``v`` and ``k``)."""
    return {
        "n": number,
        "r": version.version,
        "nm": version.name,
        "it": version.id_type,
        "id": mask_id_number(version.id_number),
        "o": version.occupation_code,
        "w": version.work_type_text,
        "l": version.level,
        "d": version.issued_on.isoformat(),
    }


def describe_fields(fields: dict[str, Any]) -> dict[str, str]:
    """A statement's fields in words (Chinese labels), for the offline checker and the page."""
    id_type = fields.get("it")
    level = fields.get("l")
    return {
        "证书编号": str(fields.get("n", "")),
        "评价机构编码": str(fields.get("n", ""))[:13],
        "版本": str(fields.get("r", "")),
        "姓名": str(fields.get("nm", "")),
        "证件类型": ID_TYPE_LABELS.get(IdType(id_type), str(id_type)) if id_type in set(IdType) else str(id_type),
        "证件号码（脱敏）": str(fields.get("id", "")),
        "职业编码": str(fields.get("o", "")),
        "工种": str(fields.get("w", "")),
        "等级": LEVEL_NAMES.get(level, str(level)) if isinstance(level, int) else str(level),
        "发证日期": str(fields.get("d", "")),
    }


def sign_statement(key: Ed25519PrivateKey, fields: dict[str, Any]) -> str:
    values = {"v": FORMAT, "k": key_id(key), **fields}
    payload = json.dumps([values[name] for name in FIELDS], ensure_ascii=False, separators=(",", ":")).encode()
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
        values = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # signed by us, so only if the key was misused
        raise BadStatement("payload") from exc
    if not isinstance(values, list) or len(values) != len(FIELDS):
        raise BadStatement("format")
    fields = dict(zip(FIELDS, values, strict=True))
    if fields["v"] != FORMAT or fields["k"] != key_id(public_key):
        raise BadStatement("format")
    return Statement(fields)
