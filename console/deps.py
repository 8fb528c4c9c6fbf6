"""Request dependencies: the services, the signed-in user and their tenant's store, audit.

Every route reaches data through `Principal.tenant` (`store.tenant(user.tenant_id)`), so another
tenant's ids read as absent (404) by construction, never as forbidden."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from console.auth import AuthError
from console.cognito import CognitoIdentity, CognitoUnavailable
from console.state import STATE_KEY, ConsoleState
from oratio_voice.models import AuditEntry, Tenant, User
from oratio_voice.services import Services
from oratio_voice.store.base import Conflict, NotFound, TenantStore

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="access token from /api/auth/login, /register or /refresh",
)


def services_of(connection: Request | WebSocket) -> Services:
    services: Services = connection.app.state.oratio
    return services


def state_of(connection: Request | WebSocket) -> ConsoleState:
    state = services_of(connection).extra.get(STATE_KEY)
    if not isinstance(state, ConsoleState):
        raise HTTPException(503, "the console is starting or stopping")
    return state


def get_services(request: Request) -> Services:
    return services_of(request)


def get_state(request: Request) -> ConsoleState:
    return state_of(request)


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user and the only store they may reach."""

    user: User
    tenant: TenantStore

    @property
    def tenant_id(self) -> str:
        return self.user.tenant_id

    async def audit(self, action: str, target: str = "", **details: Any) -> None:
        await self.tenant.add_audit(
            AuditEntry(
                tenant_id=self.tenant_id,
                actor=self.user.email,
                action=action,
                target=target,
                details={"user_id": self.user.id, **details},
            )
        )


def unauthorized(message: str) -> NoReturn:
    raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def not_found(kind: str, record_id: str) -> NoReturn:
    """The same answer for an unknown id and another tenant's id."""
    raise HTTPException(404, f"{kind} {record_id} not found")


async def principal_from_token(services: Services, state: ConsoleState, token: str) -> Principal:
    """The user a bearer token speaks for; AuthError if it speaks for nobody."""
    if state.cognito is not None:
        return await _cognito_principal(services, await state.cognito.verify(token))
    claims = state.tokens.verify_access(token)
    tenant = services.store.tenant(claims.tenant_id)
    try:
        user = await tenant.get_user(claims.user_id)
    except NotFound:
        raise AuthError("the account no longer exists") from None
    return Principal(user, tenant)


async def _cognito_principal(services: Services, identity: CognitoIdentity) -> Principal:
    """A Cognito user's Oratio account; the first sign-in creates their organization."""
    store = services.store
    user = await store.find_user_by_email(identity.email)
    if user is None:
        organization = identity.organization or f"{identity.email.split('@')[0]}'s organization"
        tenant = await store.put_tenant(Tenant(name=organization))
        user = User(tenant_id=tenant.id, email=identity.email, password_hash="!cognito")
        try:
            await store.put_user(user)
        except Conflict:  # signed in twice at once: the other request created the account
            found = await store.find_user_by_email(identity.email)
            if found is None:
                raise AuthError("the account could not be created") from None
            user = found
    return Principal(user, store.tenant(user.tenant_id))


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        unauthorized("not signed in: send Authorization: Bearer <access token>")
    try:
        return await principal_from_token(
            services_of(request), state_of(request), credentials.credentials
        )
    except CognitoUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    except AuthError as exc:
        unauthorized(str(exc))


async def admin_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if principal.user.role != "admin":
        raise HTTPException(403, "only the organization's admins may do this")
    return principal


Responses = dict[int | str, dict[str, Any]]  # extra answers documented in OpenAPI
CurrentUser = Annotated[Principal, Depends(current_principal)]
AdminUser = Annotated[Principal, Depends(admin_principal)]
ServicesDep = Annotated[Services, Depends(get_services)]
StateDep = Annotated[ConsoleState, Depends(get_state)]
