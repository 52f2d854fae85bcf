"""Configuration defaults; ``create_app`` layers instance/config.py, FLASK_* env and overrides on top."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class DefaultConfig:
    SECRET_KEY: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    # Cookies: never readable from scripts, not sent cross-site. Browsers accept Secure cookies
    # on http://127.0.0.1 and localhost, so Secure is on everywhere by default.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "skilleval_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # Views marked @large_upload (web/uploads.py: the response-set import) take files up to this.
    LARGE_UPLOAD_MAX_BYTES = 256 * 1024 * 1024
    # Login throttling counts FAILED logins (web/auth/throttle.py). Per account and address: a
    # growing wait against guessing that never touches the same account from another address.
    # Per address: generous, because a whole exam room of candidates often shares one NAT
    # address, yet bounding guesses spread over many accounts.
    LOGIN_FAILURE_LIMIT = "5 per minute;10 per 15 minutes;20 per 2 hours;40 per day"
    LOGIN_FAILURE_LIMIT_PER_ADDRESS = "150 per 10 minutes;1000 per day"
    # Login attempts (right or wrong) per address: only a flood guard (each check runs scrypt).
    LOGIN_RATE_LIMIT_PER_ADDRESS = "300 per minute"
    # Trusted reverse-proxy hops in X-Forwarded-For (1 behind one https proxy); 0: none, the
    # socket's peer address is the client's. Without it, behind a proxy every login would share
    # the proxy's address and the per-address failure bound would apply to everyone at once.
    PROXY_FIX_X_FOR = 0
    # In-process counters swept once a second (web.ratelimit_storage); Redis for several processes.
    RATELIMIT_STORAGE_URI = "sweptmemory://"
    RATELIMIT_HEADERS_ENABLED = True
    SOCKETIO_ASYNC_MODE = "gevent"
    SOCKETIO_MESSAGE_QUEUE: str | None = None  # e.g. redis://127.0.0.1:6379/0, for several processes
    SOCKETIO_CHANNEL = "skilleval-socketio"  # the queue's channel; one per deployment
    SOCKETIO_MAX_HTTP_BUFFER_SIZE = 64 * 1024
    # Proctor-console updates after a candidate event: in a background task (False) or inline.
    EXAM_PUSH_INLINE = False
    # Console updates from candidate events are coalesced and sent every this many seconds.
    EXAM_SEAT_PUSH_INTERVAL = 1.0
    # The time-up job (到时收卷) of the serving process: seconds between runs; 0 turns it off.
    EXAM_TIMEUP_INTERVAL = 5.0
    # Liveness of the serving processes: each refreshes its heartbeat every this many seconds
    # (0 turns it off); a process silent for EXAM_INSTANCE_STALE_SECONDS is taken for dead and
    # its candidates' connections are closed (离线 on the console). Clocks must agree (NTP).
    EXAM_HEARTBEAT_INTERVAL = 5.0
    EXAM_INSTANCE_STALE_SECONDS = 30.0
    # Background jobs (foundation.jobs, web.worker): the worker polls the job table every this
    # many seconds when idle; result files and uploads go to JOBS_DIR (default instance/jobs).
    # JOBS_INLINE runs a job in the request that queued it (tests only).
    JOBS_POLL_SECONDS = 0.5
    JOBS_DIR: str | None = None
    JOBS_INLINE = False
    # Dossier attachments (业绩材料附件, grading.results.dossiers) are kept under their SHA-256 in
    # ATTACHMENTS_DIR (default instance/attachments), outside the static folder: they are served
    # only through the checked route. Every serving process must see the same folder.
    ATTACHMENTS_DIR: str | None = None
    PAGE_SIZE = 20
    # Candidate photos (foundation.photos): outside the web root; None = instance/photos.
    PHOTO_DIR: str | None = None
    # Certificates: the centre's Ed25519 key pair (made on first use; None = instance/keys), the
    # address the QR codes link to (None = the address of the request that renders the PDF) and
    # the lookup addresses printed under this platform's own.
    CERTIFICATE_KEY_DIR: str | None = None
    PUBLIC_BASE_URL: str | None = None
    CERTIFICATE_LOOKUP_ADDRESSES: tuple[str, ...] = ("技能人才评价证书全国联网查询：zscx.osta.org.cn",)
    # Public verification (/verify) per address: generous for a person, bounding enumeration.
    VERIFY_RATE_LIMIT = "30 per minute"
    # Objections to a publicity entry (POST /publicity/entries/<id>/object) per address.
    OBJECTION_RATE_LIMIT = "10 per hour"
    CONTENT_SECURITY_POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def database_url(instance_path: str, override: str | None, configured: str | None) -> str:
    """Explicit override, then ``DATABASE_URL``, then instance config, then a SQLite file in
    instance/. Plain postgresql:// URLs get the psycopg 3 driver, which is the one installed."""
    url = override or os.environ.get("DATABASE_URL") or configured
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "skilleval.db")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
