"""The one module that touches aws-sdk-bedrock-runtime: open a duplex stream, send, receive, close.

The SDK is pre-alpha and changes between minor versions, so it stays behind `NovaStream`.
Credentials come from botocore's default chain when botocore is installed (env, profile, SSO,
assume-role, web identity, ECS task role, EC2 instance role), since the SDK's own default chain
only covers environment variables and profiles; no static keys are ever required.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
from aws_sdk_bedrock_runtime.models import (
    BidirectionalInputPayloadPart,
    InvokeModelWithBidirectionalStreamInputChunk,
    InvokeModelWithBidirectionalStreamOperationInput,
    InvokeModelWithBidirectionalStreamOutputChunk,
)
from smithy_aws_core.identity.components import AWSCredentialsIdentity, AWSIdentityProperties
from smithy_core.exceptions import SmithyIdentityError
from smithy_http.aio.crt import AWSCRTHTTPClient

from pipeline.engines.nova_protocol import NovaStream, NovaStreamError

log = logging.getLogger(__name__)

# SDK error class name -> (our kind, can a fresh stream carry the call on?)
_ERRORS: dict[str, tuple[str, bool]] = {
    "ThrottlingException": ("throttling", True),
    "ServiceUnavailableException": ("service_unavailable", True),
    "InternalServerException": ("internal_server", True),
    "ModelTimeoutException": ("model_timeout", True),
    "ModelStreamErrorException": ("model_stream_error", True),
    "ValidationException": ("validation", False),
    "AccessDeniedException": ("access_denied", False),
    "ResourceNotFoundException": ("model_not_found", False),
    "ModelNotReadyException": ("model_not_ready", True),
    "ServiceQuotaExceededException": ("quota_exceeded", False),
    "IdentityChainError": ("credentials", False),
}


def classify(exc: BaseException) -> NovaStreamError:
    """Our error kind for whatever the SDK raised."""
    if isinstance(exc, NovaStreamError):
        return exc
    name = type(exc).__name__
    message = str(getattr(exc, "message", "") or exc) or name
    if isinstance(exc, SmithyIdentityError):
        return NovaStreamError("credentials", message, retryable=False)
    if name == "ValidationException" and "timed out" in message.lower():
        # Long caller silence ends a stream with a ValidationException; the call itself is fine.
        return NovaStreamError("input_timeout", message, retryable=True)
    if name in _ERRORS:
        kind, retryable = _ERRORS[name]
        return NovaStreamError(kind, message, retryable=retryable)
    if isinstance(exc, OSError | ConnectionError | TimeoutError):
        return NovaStreamError("stream_closed", message, retryable=True)
    return NovaStreamError("transport", f"{name}: {message}", retryable=True)


class BotocoreCredentials:
    """An SDK identity resolver over botocore's full default credential chain."""

    _REFRESH_MARGIN = timedelta(minutes=5)

    def __init__(self, profile: str | None = None) -> None:
        import botocore.session

        self._session = botocore.session.Session(profile=profile)
        self._credentials: Any = None
        self._identity: AWSCredentialsIdentity | None = None
        self._refreshing = asyncio.Lock()

    async def get_identity(self, *, properties: AWSIdentityProperties) -> AWSCredentialsIdentity:
        """Called for every signed event (each audio chunk): cached until close to expiry."""
        identity = self._identity
        if identity is not None and not self._stale(identity):
            return identity
        async with self._refreshing:
            identity = self._identity
            if identity is None or self._stale(identity):
                identity = self._identity = await asyncio.to_thread(self._load)
            return identity

    def _stale(self, identity: AWSCredentialsIdentity) -> bool:
        expiry = identity.expiration
        return expiry is not None and expiry - datetime.now(tz=UTC) < self._REFRESH_MARGIN

    async def invalidate(self) -> None:
        self._identity = None

    def _load(self) -> AWSCredentialsIdentity:
        if self._credentials is None:
            self._credentials = self._session.get_credentials()
        if self._credentials is None:
            raise SmithyIdentityError("no AWS credentials found in the default credential chain")
        frozen = self._credentials.get_frozen_credentials()
        expiry = getattr(self._credentials, "_expiry_time", None)
        return AWSCredentialsIdentity(
            access_key_id=frozen.access_key,
            secret_access_key=frozen.secret_key,
            session_token=frozen.token,
            expiration=expiry if isinstance(expiry, datetime) else None,
        )


def credential_source(profile: str | None = None) -> str | None:
    """Where the default chain would find credentials, checked without any network call.

    Instance-metadata (EC2) credentials cannot be confirmed without a network call, so they are
    not reported here; ECS task roles are recognised by their environment variables.
    """
    try:
        import botocore.session
    except ImportError:
        return _sdk_credential_source()
    session = botocore.session.Session(profile=profile)
    resolver = session.get_component("credential_provider")
    for method in ("iam-role", "container-role"):
        resolver.remove(method)
    credentials = resolver.load_credentials()
    if credentials is not None:
        return str(getattr(credentials, "method", "credentials"))
    if os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or os.environ.get(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ):
        return "container-role"
    return None


def _sdk_credential_source() -> str | None:
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return "env"
    home = os.path.expanduser("~")
    for path in (
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or f"{home}/.aws/credentials",
        os.environ.get("AWS_CONFIG_FILE") or f"{home}/.aws/config",
    ):
        if os.path.isfile(path):
            return "shared-config"
    return None


class BedrockNovaStream:
    """NovaStream over the SDK's duplex event stream."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._output: Any = None
        self._closed = False

    async def send(self, event: bytes) -> None:
        chunk = InvokeModelWithBidirectionalStreamInputChunk(
            value=BidirectionalInputPayloadPart(bytes_=event)
        )
        try:
            await self._stream.input_stream.send(chunk)
        except Exception as exc:
            raise classify(exc) from exc

    async def receive(self) -> bytes | None:
        try:
            if self._output is None:
                _, self._output = await self._stream.await_output()
            while True:
                event = await self._output.receive()
                if event is None:
                    return None
                if isinstance(event, InvokeModelWithBidirectionalStreamOutputChunk):
                    if event.value.bytes_:
                        return bytes(event.value.bytes_)
                    continue
                value = getattr(event, "value", None)
                if isinstance(value, Exception):
                    raise value
                raise NovaStreamError("unknown_event", f"unexpected {event!r}", retryable=True)
        except NovaStreamError:
            raise
        except Exception as exc:
            raise classify(exc) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._stream.input_stream.close()
            if self._output is not None:  # wakes a pending receive() instead of cancelling it
                await self._output.close()
        except Exception as exc:
            log.debug("closing a Nova stream failed: %s", exc)


class BedrockNovaTransport:
    """Opens Nova Sonic streams in one region over HTTP/2 (CRT): the SDK's default aiohttp
    transport cannot stream both ways."""

    def __init__(
        self,
        region: str,
        model_id: str,
        *,
        endpoint_uri: str | None = None,
        profile: str | None = None,
    ) -> None:
        self.region = region
        self.model_id = model_id
        self.endpoint_uri = endpoint_uri
        self.profile = profile
        self._client: AsyncBedrockRuntimeClient | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> NovaStream:
        client = await self._get_client()
        request = InvokeModelWithBidirectionalStreamOperationInput(model_id=self.model_id)
        try:
            stream = await client.invoke_model_with_bidirectional_stream(request)
        except Exception as exc:
            raise classify(exc) from exc
        return BedrockNovaStream(stream)

    async def _get_client(self) -> AsyncBedrockRuntimeClient:
        async with self._lock:
            if self._client is None:
                overrides: dict[str, Any] = {"region": self.region, "transport": AWSCRTHTTPClient()}
                if self.endpoint_uri:
                    overrides["endpoint_uri"] = self.endpoint_uri
                try:
                    overrides["aws_credentials_identity_resolver"] = BotocoreCredentials(
                        self.profile
                    )
                except ImportError:
                    log.info("botocore not installed: using the SDK's own credential chain")
                try:
                    config = await AsyncBedrockRuntimeConfig.resolve(
                        profile=self.profile, **overrides
                    )
                except Exception as exc:
                    raise NovaStreamError("configuration", str(exc), retryable=False) from exc
                self._client = AsyncBedrockRuntimeClient(config)
            return self._client
