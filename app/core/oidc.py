"""OAuth2/OIDC bearer JWTs from a configured issuer, for councils on Entra ID or similar.

The token must be signed with an asymmetric algorithm from `WSOA_OIDC_ALGORITHMS` by a key in the
issuer's JWKS (fetched from `WSOA_OIDC_JWKS_URL` and cached, refetched when an unknown `kid` appears,
so key rotation needs no restart; or read from `WSOA_OIDC_JWKS_FILE`), name the configured issuer and
audience, and be inside its validity window. `alg: none`, HMAC algorithms (the RSA-public-key-as-HMAC-
secret confusion) and unknown keys are refused. Claims map to the role, partnership and person; a token
without a partnership is refused unless it is an admin or inspector token that is national explicitly
(`WSOA_OIDC_NATIONAL_CLAIM_VALUE` as the claim, or a subject in `WSOA_OIDC_NATIONAL_SUBJECTS`).
"""

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt

from app.core.auth import Actor
from app.core.config import Settings
from app.core.errors import Unauthenticated
from app.core.permissions import NATIONAL_ROLES
from app.models.enums import Role

ROTATION_COOLDOWN_SECONDS = 10.0


class JwksCache:
    """The issuer's signing keys by `kid`, refreshed on expiry and (rate-limited) on an unknown `kid`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys: dict[str, tuple[jwt.PyJWK, str | None]] = {}  # kid -> (key, the algorithm it declares)
        self.fetched_at = 0.0
        self.lock = asyncio.Lock()

    async def key(self, kid: str) -> tuple[jwt.PyJWK, str | None]:
        now = time.monotonic()
        stale = now - self.fetched_at > self.settings.oidc_jwks_cache_seconds
        unknown = kid not in self.keys and now - self.fetched_at > ROTATION_COOLDOWN_SECONDS
        if stale or unknown:
            async with self.lock:
                if time.monotonic() - self.fetched_at > ROTATION_COOLDOWN_SECONDS or stale:
                    await self._refresh()
        if kid not in self.keys:
            raise Unauthenticated("The token was signed by a key the issuer does not publish.")
        return self.keys[kid]

    async def _refresh(self) -> None:
        document = await self._fetch()
        keys: dict[str, tuple[jwt.PyJWK, str | None]] = {}
        for entry in document.get("keys", []):
            if not isinstance(entry, dict) or "kid" not in entry or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[str(entry["kid"])] = (jwt.PyJWK(entry), entry.get("alg"))
            except jwt.PyJWTError:
                continue  # a key type or algorithm we do not use
        self.keys = keys
        self.fetched_at = time.monotonic()

    async def _fetch(self) -> dict[str, Any]:
        try:
            if self.settings.oidc_jwks_file:
                loaded: dict[str, Any] = json.loads(Path(self.settings.oidc_jwks_file).read_text(encoding="utf-8"))
                return loaded
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self.settings.oidc_jwks_url)
                response.raise_for_status()
                fetched: dict[str, Any] = response.json()
                return fetched
        except (OSError, ValueError, httpx.HTTPError) as exc:
            raise Unauthenticated("The issuer's signing keys could not be read; try again shortly.") from exc


class OidcVerifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.jwks = JwksCache(settings)
        self.algorithms = [a.strip() for a in settings.oidc_algorithms.split(",") if a.strip()]
        self.national_subjects = frozenset(n.strip() for n in settings.oidc_national_subjects.split(",") if n.strip())

    @property
    def enabled(self) -> bool:
        return bool(self.settings.oidc_issuer and (self.settings.oidc_jwks_url or self.settings.oidc_jwks_file))

    async def actor(self, token: str) -> tuple[Actor, float]:
        """The token's actor and the time (epoch seconds) it stops being valid."""
        if not self.enabled:
            raise Unauthenticated("This service does not accept OIDC tokens.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The token is not a valid JWT.") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise Unauthenticated(f"Tokens signed with {alg!r} are not accepted.")
        if not isinstance(kid, str):
            raise Unauthenticated("The token does not name its signing key (kid).")
        key, declared = await self.jwks.key(kid)
        if declared is not None and declared != alg:
            raise Unauthenticated("The token's algorithm does not match its key.")
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=s.oidc_audience or None,
                issuer=s.oidc_issuer,
                leeway=s.oidc_leeway_seconds,
                options={"require": ["exp", "iss", "sub"] + (["aud"] if s.oidc_audience else [])},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"The token was refused: {exc}.") from exc
        return self._map(claims), float(claims["exp"])

    def _map(self, claims: dict[str, Any]) -> Actor:
        s = self.settings
        raw = claims.get(s.oidc_role_claim)
        names = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
        roles = {r for r in (self._role(n) for n in names) if r is not None}
        if len(roles) != 1:
            raise Unauthenticated(f"The token must carry exactly one wsoa role in its {s.oidc_role_claim!r} claim.")
        role = roles.pop()
        subject = str(claims["sub"])[:100]
        partnership = self._partnership(claims, role, str(claims["sub"]))
        person = self._uuid(claims.get(s.oidc_person_claim), s.oidc_person_claim)
        if role is Role.contributor and person is None:
            raise Unauthenticated(f"A contributor token must name its person in {s.oidc_person_claim!r}.")
        return Actor(
            actor_type="oidc",
            actor_id=subject,
            name=str(claims.get("name") or subject),
            role=role,
            partnership_id=partnership,
            person_id=person,
        )

    def _partnership(self, claims: dict[str, Any], role: Role, subject: str) -> uuid.UUID | None:
        """The token's partnership; None (every partnership) only for an admin or inspector token that says so
        with `WSOA_OIDC_NATIONAL_CLAIM_VALUE` or whose subject is in `WSOA_OIDC_NATIONAL_SUBJECTS`: never by default."""
        s = self.settings
        claim = s.oidc_partnership_claim
        value = claims.get(claim)
        national_value = s.oidc_national_claim_value.strip()
        if value is not None and (not national_value or value != national_value):
            return self._uuid(value, claim)
        if role not in NATIONAL_ROLES:
            raise Unauthenticated(f"A {role.value} token must name its partnership in {claim!r}.")
        if value is None and subject not in self.national_subjects:
            hint = f" or {national_value!r} for all of them" if national_value else ""
            raise Unauthenticated(f"The token must name its partnership in {claim!r}{hint}; its subject is not a national one.")
        return None

    def _role(self, name: object) -> Role | None:
        if not isinstance(name, str) or not name.startswith(self.settings.oidc_role_prefix):
            return None
        try:
            return Role(name.removeprefix(self.settings.oidc_role_prefix))
        except ValueError:
            return None

    @staticmethod
    def _uuid(value: object, claim: str) -> uuid.UUID | None:
        if value is None:
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError as exc:
            raise Unauthenticated(f"The {claim!r} claim is not an id.") from exc
