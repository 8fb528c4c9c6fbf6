"""/api/auth: register an organization, sign in, refresh (rotating), sign out, who am I."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Request, Response

from console.auth import AuthError, IssuedTokens
from console.deps import CurrentUser, Responses, ServicesDep, StateDep, unauthorized
from console.ratelimit import TooManyAttempts
from console.schemas import LoginRequest, RefreshRequest, RegisterRequest, TokenPair, UserOut
from oratio_voice.models import AuditEntry, Tenant, User
from oratio_voice.passwords import hash_password, verify_password
from oratio_voice.services import Services
from oratio_voice.store.base import Conflict, NotFound

router = APIRouter(prefix="/api/auth", tags=["auth"])

ERRORS: Responses = {401: {"description": "bad credentials or token"}}


def _pair(tokens: IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


def _local_only(services: Services) -> None:
    if services.settings.auth_mode != "local":
        raise HTTPException(
            400,
            "password sign-in is disabled: this server verifies Cognito tokens "
            "(ORATIO_AUTH_MODE=cognito)",
        )


async def _audit(services: Services, user: User, action: str, **details: str) -> None:
    await services.store.tenant(user.tenant_id).add_audit(
        AuditEntry(
            tenant_id=user.tenant_id,
            actor=user.email,
            action=action,
            target=user.id,
            details=dict(details),
        )
    )


@router.post("/register", status_code=201, response_model=TokenPair, responses={409: {}})
async def register(body: RegisterRequest, services: ServicesDep, state: StateDep) -> TokenPair:
    """Create an organization (tenant) and its first admin; answers signed-in tokens."""
    _local_only(services)
    store = services.store
    if await store.find_user_by_email(body.email) is not None:
        raise HTTPException(409, "an account with this e-mail address already exists")
    password_hash = await asyncio.to_thread(
        hash_password, body.password, services.settings.bcrypt_rounds
    )
    tenant = await store.put_tenant(Tenant(name=body.organization))
    user = User(tenant_id=tenant.id, email=body.email, password_hash=password_hash, role="admin")
    try:
        await store.put_user(user)
    except Conflict:
        raise HTTPException(409, "an account with this e-mail address already exists") from None
    await _audit(services, user, "auth.register", organization=tenant.name)
    return _pair(await state.tokens.issue(user))


@router.post("/login", response_model=TokenPair, responses={**ERRORS, 429: {}})
async def login(
    body: LoginRequest, request: Request, services: ServicesDep, state: StateDep
) -> TokenPair:
    """Sign in. Repeated failures for one e-mail from one address answer 429 for a while."""
    _local_only(services)
    ip = request.client.host if request.client else "unknown"
    try:
        state.logins.check(body.email, ip)
    except TooManyAttempts as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    user = await services.store.find_user_by_email(body.email)
    hashed = user.password_hash if user is not None else state.dummy_hash
    ok = await asyncio.to_thread(verify_password, body.password, hashed)
    if user is None or not ok:
        state.logins.failed(body.email, ip)
        if user is not None:
            await _audit(services, user, "auth.login_failed", ip=ip)
        unauthorized("wrong e-mail address or password")
    state.logins.succeeded(body.email, ip)
    await _audit(services, user, "auth.login", ip=ip)
    return _pair(await state.tokens.issue(user))


@router.post("/refresh", response_model=TokenPair, responses=ERRORS)
async def refresh(body: RefreshRequest, services: ServicesDep, state: StateDep) -> TokenPair:
    """New tokens for a refresh token, which stops working. Presenting a used refresh token
    again signs out every session descended from the same sign-in."""
    _local_only(services)
    try:
        _, tokens = await state.tokens.refresh(body.refresh_token)
    except AuthError as exc:
        unauthorized(str(exc))
    return _pair(tokens)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(body: RefreshRequest, state: StateDep) -> Response:
    """Sign out: the refresh token and every token rotated from the same sign-in stop working."""
    await state.tokens.revoke(body.refresh_token)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, responses=ERRORS)
async def me(principal: CurrentUser, services: ServicesDep) -> UserOut:
    """The signed-in user and their organization."""
    user = principal.user
    try:
        organization = (await services.store.get_tenant(user.tenant_id)).name
    except NotFound:
        organization = ""
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        tenant_id=user.tenant_id,
        organization=organization,
        created_at=user.created_at,
    )
