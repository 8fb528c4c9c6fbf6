"""The console's per-process state (token service, login limiter, builds, chat locks), created
when the app starts and kept on the services; closed when it stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from weakref import WeakValueDictionary

from console.auth import TokenService
from console.builds import BuildTracker
from console.cognito import CognitoVerifier
from console.ratelimit import LoginLimiter
from console.recordings import RecordingSigner
from oratio_voice.passwords import hash_password
from oratio_voice.services import Services

STATE_KEY = "console"


@dataclass
class ConsoleState:
    tokens: TokenService
    logins: LoginLimiter
    builds: BuildTracker
    recordings: RecordingSigner
    cognito: CognitoVerifier | None
    dummy_hash: str  # checked against when an e-mail is unknown, so timing reveals nothing
    _chat_locks: WeakValueDictionary[str, asyncio.Lock] = field(default_factory=WeakValueDictionary)

    def chat_lock(self, session_id: str) -> asyncio.Lock:
        """One message at a time per chat session (turns are numbered in order)."""
        lock = self._chat_locks.get(session_id)
        if lock is None:
            lock = asyncio.Lock()
            self._chat_locks[session_id] = lock
        return lock


def create_state(services: Services) -> ConsoleState:
    settings = services.settings
    secret = settings.jwt_key()
    cognito = None
    if settings.auth_mode == "cognito":
        cognito = CognitoVerifier(
            settings.cognito_jwks_url, settings.cognito_issuer, settings.cognito_client_id
        )
    return ConsoleState(
        tokens=TokenService(
            services.store,
            secret,
            access_ttl=settings.access_token_ttl,
            refresh_ttl=settings.refresh_token_ttl,
        ),
        logins=LoginLimiter(settings.login_max_failures, settings.login_window_seconds),
        builds=BuildTracker(services),
        recordings=RecordingSigner(secret, settings.recording_url_ttl),
        cognito=cognito,
        dummy_hash=hash_password("not a real password", settings.bcrypt_rounds),
    )


@asynccontextmanager
async def console_lifespan(services: Services) -> AsyncIterator[ConsoleState]:
    """Start the console with the app (settings problems surface here, by name)."""
    state = create_state(services)
    services.extra[STATE_KEY] = state
    try:
        yield state
    finally:
        await state.builds.close()
        services.extra.pop(STATE_KEY, None)
