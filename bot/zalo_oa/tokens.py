"""Keeps the OA's access token fresh: refreshed ahead of expiry, by one instance at a time.

The refresh token is single-use. So a refresh is claimed first (a lease row in the database,
compare-and-set on its version: of several instances one refreshes, the others wait and read
its result), and the new pair is committed before the new access token is used: a process
killed at any moment after that finds the new refresh token at its next start. (A kill in the
instant between Zalo's answer and the commit loses that answer; Zalo documents no way back.)
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.zalo_oa.api import OaApi, OaApiError, RefreshRefused
from handlers.retry import Sleep
from storage.oa_tokens import OaTokens, OaTokenStore

log = logging.getLogger(__name__)

AHEAD = timedelta(minutes=10)
"""Refresh this long before the access token expires."""
LEASE = timedelta(seconds=60)
"""How long a refresher holds the row; longer than a refresh call can take (15 s timeout)."""
WAIT_STEP = 0.25
WAIT_TRIES = 300
"""How often to look again while another instance refreshes (300 × 0.25 s > LEASE)."""
RECONSENT = (
    "zalo_oa: Zalo refused the refresh token (%s). The OA cannot send until an OA admin "
    "consents again: open the app's OA consent link (developers.zalo.me → your app → "
    "Official Account → access), exchange the code for a refresh token, put it in "
    "[zalo_oa] refresh_token or SIPAS_ZALO_OA_REFRESH_TOKEN and restart the bot. Until "
    "then citizens who write are told the channel is temporarily unavailable."
)
Clock = Callable[[], datetime]


class OaUnavailable(Exception):
    """No access token can be had now: refused (a new consent is needed) or failing."""

    def __init__(self, refused: bool, fallback: str | None = None) -> None:
        super().__init__("refresh refused: re-consent needed" if refused else "refresh failed")
        self.refused = refused
        self.fallback = fallback  # an access token still valid, if any (for an apology)


class TokenKeeper:
    """Hands out a valid access token; `stale` marks one Zalo just called expired."""

    def __init__(
        self,
        store: OaTokenStore,
        api: OaApi,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self._api = api
        self._clock = clock
        self._sleep = sleep
        self._owner = owner or uuid.uuid4().hex

    async def start(self, seed: str | None) -> None:
        """Take the config's refresh token if the database has none or an older consent."""
        if await self._store.seed(seed, self._clock()):
            log.info("zalo_oa: starting from the refresh token of the config")
            return
        row = await self._store.current()
        if row is None:
            log.error("zalo_oa: no refresh token: set [zalo_oa] refresh_token (first consent)")
        elif row.refused:
            log.error(RECONSENT, "refused before this start")  # the reminder, once per start

    async def unavailable(self) -> OaUnavailable | None:
        """Why nothing can be sent (refused refresh, no token at all), or None."""
        row = await self._store.current()
        if row is None:
            return OaUnavailable(True)
        if row.refused:
            now = self._clock()
            return OaUnavailable(True, row.access_token if row.usable(now) else None)
        return None

    async def access_token(self, stale: str | None = None) -> str:
        """A token valid for a while yet: the stored one, or a new one (refreshed here or by
        another instance); OaUnavailable if none can be had."""
        for _ in range(WAIT_TRIES):
            row = await self._store.current()
            now = self._clock()
            if row is None or row.refused:
                fallback = row.access_token if row is not None and row.usable(now) else None
                raise OaUnavailable(True, fallback)
            fresh = row.access_token != stale
            if fresh and row.access_token and _lasting(row, now):
                return row.access_token
            if row.leased(now):
                if fresh and row.access_token and row.usable(now):
                    return row.access_token  # still good: no need to wait for the refresher
                await self._sleep(WAIT_STEP)
                continue
            if await self._store.claim(row.version, self._owner, now, now + LEASE):
                return await self._refresh(row)
        raise OaUnavailable(False)

    async def _refresh(self, row: OaTokens) -> str:
        try:
            grant = await self._api.refresh(row.refresh_token)
        except RefreshRefused as error:
            if await self._store.refuse(self._owner, row.refresh_token, self._clock()):
                log.error(RECONSENT, error)
            fallback = row.access_token if row.usable(self._clock()) else None
            raise OaUnavailable(True, fallback) from None
        except OaApiError as error:
            await self._store.release(self._owner)
            log.warning(
                "zalo_oa: the token refresh failed (%s); tried again at the next send", error
            )
            raise OaUnavailable(False) from None
        except BaseException:
            await asyncio.shield(self._store.release(self._owner))
            raise
        now = self._clock()
        expires = now + timedelta(seconds=grant.expires_in)
        # Durable before use: from here on only this row can bring the OA back.
        await self._store.save(grant.access_token, expires, grant.refresh_token, now)
        log.info("zalo_oa: access token refreshed (valid %.0f s)", grant.expires_in)
        return grant.access_token


def _lasting(row: OaTokens, now: datetime) -> bool:
    """Valid beyond the refresh margin (for a short-lived token: beyond half its life)."""
    if row.expires_at is None:
        return False
    return now + AHEAD < row.expires_at
