"""The Amazon Nova Sonic speech engine: a call talks to Bedrock's bidirectional stream.

The protocol logic lives in `nova_protocol` (events), `nova_link` (one stream) and
`nova_session` (a call across streams: barge-in, tool calls, continuation past the ~8 minute
stream limit). Only `nova_transport` imports the AWS SDK, and only when the engine really opens
a stream or checks its readiness, so this module imports without the `nova` extra.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re

from pipeline.engines.base import EngineConfig
from pipeline.engines.nova_protocol import Inference, NovaStreamError, NovaTransport
from pipeline.engines.nova_session import NovaSonicSession
from pipeline.engines.nova_tuning import Clock, NovaTuning

__all__ = [
    "DEFAULT_MODEL_ID",
    "NovaConfigError",
    "NovaSonicEngine",
    "NovaSonicSession",
    "NovaStreamError",
    "NovaTuning",
]

DEFAULT_MODEL_ID = "amazon.nova-2-sonic-v1:0"
REGION_SETTING = "ORATIO_NOVA_REGION"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


class NovaConfigError(RuntimeError):
    """Nova Sonic cannot serve calls with the current settings (the message names the fix)."""


class NovaSonicEngine:
    """SpeechEngine over Amazon Nova Sonic (default model: Nova 2 Sonic)."""

    name = "nova_sonic"

    def __init__(
        self,
        region: str,
        model_id: str = DEFAULT_MODEL_ID,
        transport_factory: NovaTransport | None = None,
        stream_limit_seconds: float = 480.0,
        switch_after_seconds: float = 360.0,
        *,
        endpoint_uri: str | None = None,
        profile: str | None = None,
        inference: Inference | None = None,
        tuning: NovaTuning | None = None,
        clock: Clock | None = None,
        trust_instance_role: bool = False,
    ) -> None:
        self.region = region.strip()
        self.model_id = model_id
        self.endpoint_uri = endpoint_uri
        self.profile = profile
        self.trust_instance_role = trust_instance_role
        base = tuning or NovaTuning(
            stream_limit_seconds=stream_limit_seconds,
            switch_after_seconds=switch_after_seconds,
        )
        self.tuning = base if inference is None else dataclasses.replace(base, inference=inference)
        self._clock = clock
        self._transport = transport_factory

    async def open(self, config: EngineConfig) -> NovaSonicSession:
        """Start a call's conversation; raises ValueError on a bad config, NovaStreamError when
        Nova Sonic cannot be reached (the caller should then go to a human)."""
        nova2 = "nova-sonic-v1" not in self.model_id  # v1: no turn detection, no text input
        session = NovaSonicSession(config, self._get_transport(), self.tuning, self._clock, nova2)
        await session.start()
        return session

    async def check(self) -> None:
        """Raise NovaConfigError naming the setting to fix; never calls AWS."""
        if not self.region:
            raise NovaConfigError(
                f"Nova Sonic needs an AWS region: set {REGION_SETTING} (for example us-east-1, "
                "the region where the model access was granted)"
            )
        if not _REGION.match(self.region):
            raise NovaConfigError(
                f"{REGION_SETTING}={self.region!r} is not an AWS region name (e.g. us-east-1)"
            )
        if not self.model_id:
            raise NovaConfigError("set ORATIO_NOVA_MODEL_ID (default amazon.nova-2-sonic-v1:0)")
        if self._transport is not None:
            return  # an injected transport (tests, a proxy) brings its own credentials
        try:
            from pipeline.engines import nova_transport
        except ImportError as exc:
            raise NovaConfigError(
                f"ORATIO_ENGINE=nova needs the Nova Sonic SDK: install oratio-voice[nova] ({exc})"
            ) from exc
        try:
            source = await asyncio.to_thread(nova_transport.credential_source, self.profile)
        except Exception as exc:  # botocore: unknown AWS_PROFILE, unreadable config file
            raise NovaConfigError(
                f"AWS credentials for Nova Sonic could not be read: {exc} "
                "(check AWS_PROFILE and ~/.aws/config)"
            ) from exc
        if source is None and not self.trust_instance_role:
            raise NovaConfigError(
                "no AWS credentials found for Nova Sonic: set AWS_PROFILE (or run "
                "`aws configure` / `aws sso login`), export AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or run with an IAM role (ECS task role, web identity); "
                "on EC2 with an instance profile, enable trust_instance_role"
            )

    def _get_transport(self) -> NovaTransport:
        if self._transport is None:
            try:
                from pipeline.engines.nova_transport import BedrockNovaTransport
            except ImportError as exc:
                raise NovaConfigError(
                    f"the Nova Sonic SDK is not installed: install oratio-voice[nova] ({exc})"
                ) from exc
            self._transport = BedrockNovaTransport(
                self.region, self.model_id, endpoint_uri=self.endpoint_uri, profile=self.profile
            )
        return self._transport
