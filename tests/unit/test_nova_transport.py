"""The SDK adapter (real aws-sdk-bedrock-runtime shapes, no network) and the readiness check."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_sdk_bedrock_runtime", reason="needs the nova extra")

from aws_sdk_bedrock_runtime.models import (
    AccessDeniedException,
    BidirectionalOutputPayloadPart,
    InternalServerException,
    InvokeModelWithBidirectionalStreamInputChunk,
    InvokeModelWithBidirectionalStreamOutputChunk,
    ModelStreamErrorException,
    ModelTimeoutException,
    ServiceUnavailableException,
    ThrottlingException,
    ValidationException,
)

from pipeline.engines import nova_transport
from pipeline.engines.nova_protocol import NovaStreamError
from pipeline.engines.nova_sonic import NovaConfigError, NovaSonicEngine
from pipeline.engines.nova_transport import (
    BedrockNovaStream,
    BedrockNovaTransport,
    classify,
)
from tests.nova_double import NovaDouble


@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (ThrottlingException(message="slow down"), "throttling", True),
        (ServiceUnavailableException(message="busy"), "service_unavailable", True),
        (InternalServerException(message="oops"), "internal_server", True),
        (ModelTimeoutException(message="model timed out"), "model_timeout", True),
        (ModelStreamErrorException(message="broken"), "model_stream_error", True),
        (ValidationException(message="Invalid input request"), "validation", False),
        (ValidationException(message="Timed out waiting for input events"), "input_timeout", True),
        (AccessDeniedException(message="no access to the model"), "access_denied", False),
        (OSError("Failed to read from stream."), "stream_closed", True),
        (RuntimeError("InvalidStateError"), "transport", True),
    ],
)
def test_sdk_errors_are_classified(error: Exception, kind: str, retryable: bool) -> None:
    classified = classify(error)
    assert (classified.kind, classified.retryable) == (kind, retryable)
    assert classified.message


class FakeInput:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed = 0

    async def send(self, event: Any) -> None:
        if self.closed:
            raise OSError("Attempted to write to closed stream.")
        self.sent.append(event)

    async def close(self) -> None:
        self.closed += 1


class FakeOutput:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.closed = 0

    async def close(self) -> None:
        self.closed += 1

    async def receive(self) -> Any:
        item = self.items.pop(0) if self.items else None
        if isinstance(item, Exception):
            raise item
        return item


class FakeDuplex:
    """The shape of smithy's DuplexEventStream: input_stream + await_output()."""

    def __init__(self, items: list[Any]) -> None:
        self.input_stream = FakeInput()
        self._output = FakeOutput(items)

    async def await_output(self) -> tuple[None, FakeOutput]:
        return None, self._output


def chunk(data: bytes) -> InvokeModelWithBidirectionalStreamOutputChunk:
    return InvokeModelWithBidirectionalStreamOutputChunk(
        value=BidirectionalOutputPayloadPart(bytes_=data)
    )


async def test_stream_adapter_wraps_sdk_shapes() -> None:
    duplex = FakeDuplex([chunk(b'{"event": {"a": {}}}'), chunk(b""), chunk(b"second"), None])
    stream = BedrockNovaStream(duplex)
    await stream.send(b'{"event": {"sessionEnd": {}}}')
    (sent,) = duplex.input_stream.sent
    assert isinstance(sent, InvokeModelWithBidirectionalStreamInputChunk)
    assert sent.value.bytes_ == b'{"event": {"sessionEnd": {}}}'
    assert await stream.receive() == b'{"event": {"a": {}}}'
    assert await stream.receive() == b"second"  # empty chunks are skipped
    assert await stream.receive() is None
    await stream.close()
    await stream.close()
    assert duplex.input_stream.closed == 1 and duplex._output.closed == 1
    with pytest.raises(NovaStreamError, match="stream_closed"):
        await stream.send(b"{}")


async def test_stream_adapter_raises_classified_service_errors() -> None:
    stream = BedrockNovaStream(FakeDuplex([ModelStreamErrorException(message="model broke")]))
    with pytest.raises(NovaStreamError) as caught:
        await stream.receive()
    assert caught.value.kind == "model_stream_error" and caught.value.retryable


def _no_aws(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-credentials"))


async def test_check_names_the_region_setting() -> None:
    with pytest.raises(NovaConfigError, match="ORATIO_NOVA_REGION"):
        await NovaSonicEngine("").check()
    with pytest.raises(NovaConfigError, match="not an AWS region"):
        await NovaSonicEngine("Frankfurt").check()


async def test_check_without_credentials_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws(monkeypatch, tmp_path)
    with pytest.raises(NovaConfigError) as caught:
        await NovaSonicEngine("us-east-1").check()
    assert "no AWS credentials" in str(caught.value)
    assert "AWS_PROFILE" in str(caught.value) and "AWS_ACCESS_KEY_ID" in str(caught.value)
    await NovaSonicEngine("us-east-1", trust_instance_role=True).check()


async def test_check_with_an_unknown_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws(monkeypatch, tmp_path)
    with pytest.raises(NovaConfigError, match="AWS_PROFILE"):
        await NovaSonicEngine("us-east-1", profile="nobody").check()


@pytest.mark.parametrize(
    ("variables", "source"),
    [
        ({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}, "env"),
        ({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}, "container-role"),
    ],
)
async def test_check_accepts_the_default_chain_without_static_keys_in_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variables: dict[str, str], source: str
) -> None:
    _no_aws(monkeypatch, tmp_path)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert nova_transport.credential_source() == source
    await NovaSonicEngine("eu-central-1").check()


async def test_check_accepts_a_profile_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws(monkeypatch, tmp_path)
    credentials = tmp_path / "no-credentials"
    credentials.write_text("[agent]\naws_access_key_id = AKID\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_PROFILE", "agent")
    await NovaSonicEngine("us-west-2").check()


async def test_injected_transport_skips_the_credential_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws(monkeypatch, tmp_path)
    await NovaSonicEngine("us-east-1", transport_factory=NovaDouble()).check()


async def test_botocore_credentials_feed_the_sdk_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    resolver = nova_transport.BotocoreCredentials()
    identity = await resolver.get_identity(properties={})
    assert (identity.access_key_id, identity.secret_access_key, identity.session_token) == (
        "AKIDEXAMPLE",
        "secret",
        "token",
    )
    assert await resolver.get_identity(properties={}) is identity  # cached, no re-resolve
    await resolver.invalidate()


async def test_transport_builds_an_sdk_client_without_calling_aws(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws(monkeypatch, tmp_path)
    transport = BedrockNovaTransport("us-east-1", "amazon.nova-2-sonic-v1:0")
    client = await transport._get_client()
    assert client is await transport._get_client()
    config = client._config
    assert config is not None and config.region == "us-east-1"
    assert type(config.transport).__name__ == "AWSCRTHTTPClient"
    assert isinstance(config.aws_credentials_identity_resolver, nova_transport.BotocoreCredentials)
    await asyncio.sleep(0)
