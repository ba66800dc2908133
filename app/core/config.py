"""Service settings, read from `WSOA_`-prefixed environment variables."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET = 32  # characters of a secret production mode accepts


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WSOA_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./wsoa.db",
        description="SQLAlchemy URL; `sqlite:///path` (embedded default) or `postgresql://user@host/db`.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Lowest level logged.")
    log_json: bool = Field(default=True, description="Write logs as JSON lines (false: human-readable).")
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Connections per pool and process on PostgreSQL (a write pool and a read pool: twice this per worker "
        "process); keep workers × 2 × this under the server's max_connections.",
    )
    idempotency_ttl_hours: int = Field(default=24, ge=1, description="How long an Idempotency-Key is remembered.")
    crash_at: Literal["", "before_commit", "after_commit"] = Field(
        default="",
        description="Tests only: the process kills itself at this moment of every successful API request (crash-consistency tests).",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified API key or token is trusted in memory for reads before it is looked up again (writes always look it up).",
    )
    otel_enabled: bool = Field(
        default=False,
        description="Emit OpenTelemetry traces, metrics and logs through FastAPI's instrumentation (configure the SDK and exporters yourself).",
    )
    oidc_issuer: str = Field(default="", description="Accept OIDC/OAuth2 JWTs from this issuer (`iss`); empty: API keys only.")
    oidc_audience: str = Field(default="", description="The `aud` the tokens must carry (this API's application id URI).")
    oidc_jwks_url: str = Field(default="", description="The issuer's JWKS URL (cached; refetched when a new `kid` appears).")
    oidc_jwks_file: str = Field(default="", description="A JWKS file instead of a URL, for closed networks.")
    oidc_algorithms: str = Field(default="RS256,PS256,ES256", description="Accepted signing algorithms (asymmetric only).")
    oidc_role_claim: str = Field(default="roles", description="Claim holding the wsoa role (a string or a list, e.g. Entra app roles).")
    oidc_role_prefix: str = Field(default="", description="Prefix stripped from role values, e.g. `wsoa.` for `wsoa.lead`.")
    oidc_partnership_claim: str = Field(
        default="wsoa_partnership_id", description="Claim holding the partnership id (absent: all, for admin and inspector)."
    )
    oidc_person_claim: str = Field(
        default="wsoa_person_id", description="Claim holding the caller's person id (required for contributors)."
    )
    oidc_national_claim_value: str = Field(
        default="*",
        description="The partnership claim's value that gives an admin or inspector token every partnership (empty: none does).",
    )
    oidc_national_subjects: str = Field(
        default="",
        description="Comma-separated `sub` values whose admin or inspector tokens are national without the partnership claim.",
    )
    oidc_jwks_cache_seconds: float = Field(default=600, ge=0, description="How long fetched signing keys are used before refetching.")
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on `exp` and `nbf`.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted; larger ones get 413 before they are read whole."
    )
    upload_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, description="Largest evidence file accepted (413 beyond).")
    sync_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest HR sync feed (10,000 rows).")
    case_import_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest file of case events accepted (an SEN2 return or CSV extract; 413 beyond). A large area's SEN2 return "
        "is 10-20 MB.",
    )
    case_import_max_records: int = Field(
        default=50_000,
        ge=1,
        description="Most requests (SEN2 `Requests`, CSV rows) one case-event import takes (413 beyond). A large area's SEN2 "
        "return holds 20,000-30,000.",
    )
    sync_max_deactivate_percent: float = Field(
        default=20,
        ge=0,
        le=100,
        description="A `full` HR sync that would mark more than this share of the active people the feed manages as left is "
        "refused (409) unless the request says `allow_mass_deactivation=true`.",
    )
    storage_backend: Literal["local", "s3"] = Field(
        default="local", description="Where evidence files live: a local folder or an S3-compatible bucket."
    )
    s3_bucket: str = Field(default="", description="Bucket for evidence files when the backend is `s3`.")
    s3_prefix: str = Field(default="evidence/", description="Key prefix inside the bucket.")
    s3_endpoint_url: str = Field(default="", description="Endpoint of an S3-compatible service (MinIO, Ceph); empty for AWS.")
    s3_region: str = Field(default="eu-west-2", description="Bucket region.")
    storage_dir: str = Field(default="./evidence-store", description="Folder where evidence files are kept, content-addressed by SHA-256.")
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins allowed to call the API from a browser (e.g. https://send.council.gov.uk); empty: none.",
    )
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook URLs on loopback, link-local or private addresses (tests, internal networks)."
    )
    webhook_retry_hours: float = Field(default=24, gt=0, description="How long a failing delivery is retried before it is given up.")
    webhook_backoff_base_seconds: float = Field(
        default=5, ge=0, description="First retry delay; doubles per attempt (with jitter), at most an hour."
    )
    webhook_timeout_seconds: float = Field(default=5, gt=0, le=60, description="Timeout of one delivery attempt.")
    submission_working_days: dict[str, int] = Field(
        default={"wsoa": 70},
        description="Working days from the report's publication to a plan's submission deadline, per plan kind, as JSON "
        '(e.g. `{"wsoa": 70, "priority_action_plan": 30}`); kinds not listed have no computed deadline.',
    )
    case_ref_key: SecretStr = Field(
        default=SecretStr(""),
        description="Key for the HMAC that pseudonymises EHCP case references; keep it outside the database and never change it "
        "once events are stored (empty: a key is generated once and kept in the database).",
    )
    audit_signing_key: SecretStr = Field(
        default=SecretStr(""),
        description="Ed25519 key signing the audit trail's checkpoints, as base64 of its 32-byte private seed; keep it outside "
        "the database (empty: `audit_signing_key_file`, or no checkpoints).",
    )
    audit_signing_key_file: str = Field(
        default="", description="A file holding that key instead: PEM (PKCS#8), the raw 32-byte seed, or its base64."
    )
    audit_public_key: str = Field(
        default="",
        description="The checkpoints' Ed25519 public key (base64 of 32 bytes), for a machine that verifies but never signs; "
        "with a signing key set too, the two must match.",
    )
    audit_checkpoint_minutes: float = Field(
        default=5, gt=0, description="How often `wsoa worker` signs a checkpoint of the audit trail (when it has grown and a key is set)."
    )
    export_inline_max_actions: int = Field(
        default=150,
        ge=0,
        description="Exports of plans with more actions than this are produced in the background by `wsoa worker` "
        "(`status: pending`); smaller ones are ready in the response.",
    )
    export_inline_max_pdf_actions: int = Field(
        default=50,
        ge=0,
        description="The same limit for PDF, whose printing costs most (about 0.03 s per action here).",
    )
    export_heavy_per_hour: int = Field(
        default=30,
        ge=0,
        description="New PDF, HTML and XLSX exports (the costly formats) a key may request in a clock hour (429 with `Retry-After` past "
        "it; an identical request answered with the export already made does not count); 0: no limit.",
    )
    share_link_days: int = Field(default=14, ge=1, le=90, description="How long a share link lasts when no `expires_at` is given.")
    failed_auth_per_minute: int = Field(
        default=30,
        ge=0,
        description="Failed sign-ins (bad, revoked or leavers' tokens) a client address may send a minute; past it every "
        "request from the address gets 429 with `Retry-After` for the rest of the minute; 0: no limit.",
    )
    rate_limits: dict[str, int] = Field(
        default={"admin": 6000, "lead": 3000, "contributor": 1200, "inspector": 1200, "hr_integration": 120, "case_integration": 600},
        description="Requests a minute per API key or token, by role, as JSON; shared by every process through the database "
        "(429 with `Retry-After` past it); 0 or a role left out: no limit.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies (comma-separated addresses or networks, `*` for any) whose `X-Forwarded-For` and `X-Forwarded-Proto` "
        "are believed: set it to the load balancer's address, so client addresses (the failed sign-in throttle, share-link audit) are "
        "the clients' and not the balancer's.",
    )
    smtp_host: str = Field(
        default="", description="SMTP server for the reporting cycle's e-mails; empty: written to WSOA_MAIL_DIR instead."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port (587 for STARTTLS submission).")
    smtp_username: str = Field(default="", description="SMTP user name, if the server wants one.")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS before sending anything.")
    smtp_ca_file: str = Field(
        default="", description="CA certificates (PEM) the SMTP server's certificate is checked against; empty: the system's."
    )
    smtp_timeout_seconds: float = Field(default=30, gt=0, description="How long one SMTP conversation may take.")
    mail_from: str = Field(default="wsoa-tracker@localhost", description="The From address of the reporting cycle's e-mails.")
    mail_dir: str = Field(
        default="",
        description="Without an SMTP server, e-mails are written here as .eml files (default outside production: ./mail).",
    )
    return_link_days: int = Field(default=14, ge=1, le=60, description="How long a reminder's one-time link to its return form works.")
    public_base_url: str = Field(
        default="",
        description="Public base URL (e.g. https://wsoa.example.gov.uk) for `Location` and `Link` headers; empty: taken from the request.",
    )
    env: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses to start on an unsafe configuration (`wsoa check-config` lists what is wrong) and "
        "serves `/metrics` only with `WSOA_METRICS_TOKEN`.",
    )
    docs: bool = Field(default=True, description="Serve `/docs`, `/redoc` and `/openapi.json` (the document is also in the repository).")
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token `/metrics` asks for (required in production: without it `/metrics` answers 404 there).",
    )

    def production_problems(self) -> list[str]:
        """What production mode refuses, one line each (empty: nothing)."""
        found = []
        if not self.case_ref_key.get_secret_value():
            found.append(
                "WSOA_CASE_REF_KEY is unset: case references would be pseudonymised with a key kept in the same database, "
                "so a copy of the database could re-identify them. Set a long random secret."
            )
        elif len(self.case_ref_key.get_secret_value().strip()) < MIN_SECRET:
            found.append(f"WSOA_CASE_REF_KEY is shorter than {MIN_SECRET} characters: use a long random secret (`openssl rand -hex 32`).")
        if not self.audit_signing_key.get_secret_value() and not self.audit_signing_key_file:
            found.append(
                "No audit signing key (WSOA_AUDIT_SIGNING_KEY or WSOA_AUDIT_SIGNING_KEY_FILE): the audit trail could not be "
                "anchored by signed checkpoints."
            )
        else:
            from app.audit.checkpoints import keys_from  # here: that module reads these settings

            try:
                keys_from(self)
            except Exception as exc:  # whatever the key's fault, one line saying so
                found.append(f"The audit signing key cannot be used: {str(exc).strip()[:200] or type(exc).__name__}.")
        base = urlsplit(self.public_base_url)
        if not self.public_base_url:
            found.append(
                "WSOA_PUBLIC_BASE_URL is unset: share-link URLs and Location/Link headers would reflect the request's Host "
                "header. Set the service's public URL."
            )
        elif base.scheme != "https" or not base.hostname or base.query or base.fragment:
            found.append("WSOA_PUBLIC_BASE_URL must be the service's public https:// address, e.g. https://wsoa.example.gov.uk.")
        metrics = self.metrics_token.get_secret_value()
        if metrics and len(metrics.strip()) < MIN_SECRET:
            found.append(f"WSOA_METRICS_TOKEN is shorter than {MIN_SECRET} characters: use a long random secret.")
        if self.oidc_issuer:
            found += self._oidc_problems()
        if not self.smtp_host and not self.mail_dir:
            found.append(
                "WSOA_SMTP_HOST is unset: the reporting cycle's reminders and escalations would never be sent. Set it (or "
                "WSOA_MAIL_DIR, to hand .eml files to another mailer)."
            )
        if self.smtp_host and self.smtp_username and not self.smtp_starttls:
            found.append("WSOA_SMTP_STARTTLS is off while WSOA_SMTP_USERNAME is set: the SMTP password would travel in the clear.")
        explicit = {"oidc_national_claim_value", "oidc_national_subjects"} & self.model_fields_set
        if self.oidc_issuer and not explicit:
            found.append(
                "OIDC is on without an explicit national-scope rule: set WSOA_OIDC_NATIONAL_CLAIM_VALUE (empty: no token is "
                "national) or WSOA_OIDC_NATIONAL_SUBJECTS."
            )
        return found

    def _oidc_problems(self) -> list[str]:
        found = []
        if not self.oidc_audience.strip() or not (self.oidc_jwks_url or self.oidc_jwks_file):
            found.append("OIDC is on without WSOA_OIDC_AUDIENCE and a WSOA_OIDC_JWKS_URL or WSOA_OIDC_JWKS_FILE to check tokens against.")
        for name, url in (("WSOA_OIDC_ISSUER", self.oidc_issuer), ("WSOA_OIDC_JWKS_URL", self.oidc_jwks_url)):
            if url and urlsplit(url).scheme != "https":
                found.append(f"{name} must be an https:// address: tokens and their signing keys must not travel in the clear.")
        if self.oidc_jwks_file:
            try:
                keys = json.loads(Path(self.oidc_jwks_file).read_text()).get("keys")
            except (OSError, ValueError, AttributeError) as exc:
                keys = exc
            if not isinstance(keys, list) or not keys:
                found.append(f"WSOA_OIDC_JWKS_FILE {self.oidc_jwks_file} is not a readable JWKS (a JSON object with a list of keys).")
        return found

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: str) -> str:
        names = [a.strip() for a in value.split(",") if a.strip()]
        refused = [a for a in names if a.lower() == "none" or a.upper().startswith("HS")]
        if refused or not names:
            raise ValueError(f"only asymmetric signing algorithms may be accepted, not {refused or 'none'}")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("only SQLite and PostgreSQL URLs are supported")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
