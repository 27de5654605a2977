"""Token issuing and checking as WeChat documents it (reference §8).

* classic `cgi-bin/token`: every fetch issues a new token and the previous one stops working
  after a grace period (5 minutes at WeChat);
* `cgi-bin/stable_token`: normal mode returns the same token until its last 5 minutes, then
  a new one while the old stays valid until it expires; `force_refresh` rotates at once
  (at most 20 a day, 30 s apart); the two kinds are isolated from each other.
"""

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Dict, List, Optional, Tuple

STABLE_EARLY_ROTATION_SECONDS = 300
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING_SECONDS = 30

TokenError = Tuple[int, str]


@dataclass
class Issued:
    app_id: str
    expires_at: float
    revoked_at: Optional[float] = None


class TokenRegistry:
    def __init__(
        self, ttl_seconds: float, classic_grace_seconds: float, clock: Callable[[], datetime]
    ) -> None:
        self.ttl = ttl_seconds
        self.classic_grace = classic_grace_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: Dict[str, Issued] = {}
        self._stable: Dict[str, str] = {}
        self._classic: Dict[str, str] = {}
        self._forced: Dict[str, List[float]] = {}

    def _now(self) -> float:
        return self._clock().timestamp()

    def _new(self, app_id: str, now: float) -> str:
        token = "ACCESS_TOKEN_" + secrets.token_urlsafe(48)
        self._tokens[token] = Issued(app_id, now + self.ttl)
        return token

    def classic(self, app_id: str) -> Tuple[str, int]:
        with self._lock:
            now = self._now()
            previous = self._classic.get(app_id)
            if previous is not None:
                issued = self._tokens[previous]
                issued.revoked_at = min(
                    issued.revoked_at or now + self.classic_grace, now + self.classic_grace
                )
            token = self._classic[app_id] = self._new(app_id, now)
            return token, int(self.ttl)

    def stable(
        self, app_id: str, force_refresh: bool
    ) -> Tuple[Optional[str], int, Optional[TokenError]]:
        with self._lock:
            now = self._now()
            current = self._stable.get(app_id)
            issued = self._tokens.get(current) if current else None
            if force_refresh:
                forced = [t for t in self._forced.get(app_id, []) if now - t < 86400]
                if len(forced) >= FORCE_REFRESH_PER_DAY:
                    return None, 0, (45009, "reach max api daily quota limit")
                if (
                    issued is not None
                    and forced
                    and now - forced[-1] < FORCE_REFRESH_SPACING_SECONDS
                ):
                    return current, int(issued.expires_at - now), None
                self._forced[app_id] = [*forced, now]
                if issued is not None:
                    issued.revoked_at = now
                current = self._stable[app_id] = self._new(app_id, now)
                return current, int(self.ttl), None
            if issued is None or issued.revoked_at is not None or issued.expires_at - now <= 0:
                current = self._stable[app_id] = self._new(app_id, now)
                return current, int(self.ttl), None
            remaining = issued.expires_at - now
            if remaining <= STABLE_EARLY_ROTATION_SECONDS:
                # the old token stays valid until it expires; callers get the new one
                current = self._stable[app_id] = self._new(app_id, now)
                return current, int(self.ttl), None
            return current, int(remaining), None

    def check(self, token: Optional[str]) -> Tuple[Optional[str], Optional[TokenError]]:
        """(app_id, None) for a valid token, else (None, (errcode, errmsg))."""
        if not token:
            return None, (41001, "access_token missing")
        with self._lock:
            issued = self._tokens.get(token)
            now = self._now()
        if issued is None or (issued.revoked_at is not None and now >= issued.revoked_at):
            return None, (40001, "invalid credential, access_token is invalid or not latest")
        if now >= issued.expires_at:
            return None, (42001, "access_token expired")
        return issued.app_id, None

    def register(self, token: str, app_id: str) -> None:
        """Accept `token` for `app_id`, as if a central token service had fetched it."""
        with self._lock:
            self._tokens[token] = Issued(app_id, self._now() + self.ttl)

    def expire_all(self) -> None:
        """Every token issued so far expires now (the next use gets 42001)."""
        with self._lock:
            now = self._now()
            for issued in self._tokens.values():
                issued.expires_at = min(issued.expires_at, now)
