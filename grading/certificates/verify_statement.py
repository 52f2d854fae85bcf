"""Check a certificate's QR statement offline, with the centre's public key only.

    python -m grading.certificates.verify_statement --key centre-public.pem TOKEN
    python -m grading.certificates.verify_statement --key centre-public.pem 'https://…/verify?s=TOKEN'

The public key is the PEM published on the platform's page /verify/key. Prints the signed
fields as JSON and exits 0 when the signature is valid; prints 「签名无效」 and exits 1 when it is
not (forged, altered or signed by another key); exits 2 on bad usage. The certificate's live
status (revoked, corrected) needs the verify page: a signature only proves what was issued.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from grading.certificates.signing import BadStatement, describe_fields, load_public_key, verify_statement


def token_of(text: str) -> str:
    """The statement in ``text``: the token itself or a link carrying it as ``s``."""
    text = text.strip()
    if "?" in text:
        values = parse_qs(urlsplit(text).query).get("s")
        return values[0] if values else ""
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grading.certificates.verify_statement",
                                     description="验证证书二维码中的签名声明（离线）。")
    parser.add_argument("--key", required=True, help="省中心公钥文件（PEM，见平台 /verify/key 页面）")
    parser.add_argument("statement", help="二维码内容：签名声明或含 ?s= 的查询链接")
    args = parser.parse_args(argv)
    try:
        with open(args.key, "rb") as fh:
            key = load_public_key(fh.read())
    except (OSError, ValueError) as exc:
        print(f"无法读取公钥：{exc}", file=sys.stderr)
        return 2
    try:
        statement = verify_statement(token_of(args.statement), key)
    except BadStatement:
        print("签名无效：该内容不是省中心签发的证书声明，或已被篡改。")
        return 1
    print(json.dumps({"签名": "有效", **describe_fields(statement.fields), "fields": statement.fields},
                     ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
