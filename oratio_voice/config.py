"""Settings: every backend is chosen here (env prefix ORATIO_), never by code edits."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """With nothing set, Oratio runs fully offline: SQLite, local files, local speech engine."""

    model_config = SettingsConfigDict(env_prefix="ORATIO_", extra="ignore")

    data_dir: Path = Field(Path(".oratio"), description="SQLite file, blobs and local secrets")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field("", description="URL callers and webhooks reach, e.g. https://x.io")
    engine: Literal["local", "nova"] = Field("local", description="speech engine: local | nova")
    nova_region: str = Field("", description="AWS region of the Nova Sonic model grant")
    nova_model_id: str = Field("amazon.nova-2-sonic-v1:0", description="Nova Sonic model id")
    nova_endpoint_url: str = Field("", description="Bedrock runtime endpoint override")
    nova_profile: str = Field("", description="AWS profile for Nova (default credential chain)")
    nova_trust_instance_role: bool = Field(False, description="accept an EC2 instance role")
    agent_runtime: Literal["local", "inprocess", "agentcore"] = Field(
        "local",
        description="local: built agents run as their generated package behind the AgentCore "
        "contract on loopback; inprocess: the SOP responder answers in the server process; "
        "agentcore: agents with a runtime ARN are invoked on Bedrock AgentCore (the others "
        "as in local)",
    )
    aws_region: str = Field("", description="AWS region of AgentCore runtimes (and of SES)")
    agentcore_role_arn: str = Field(
        "", description="IAM role deployed agents run as; with a bucket, builds deploy to AgentCore"
    )
    agentcore_bucket: str = Field("", description="S3 bucket for deployed agent packages")
    agentcore_model_id: str = Field("", description="Bedrock model id deployed agents use")
    agentcore_endpoint_url: str = Field(
        "", description="AgentCore data-plane endpoint override (VPC endpoint, tests)"
    )
    agent_timeout_seconds: float = Field(
        10.0, gt=0, description="longest wait for the agent's answer before a handoff"
    )
    max_tool_failures: int = Field(
        3, ge=1, description="failed tool calls in one call before it goes to a person"
    )
    handoff_email_to: str = Field(
        "", description="comma-separated addresses e-mailed on every handoff (SES); empty: none"
    )
    handoff_email_from: str = Field("", description="SES-verified sender of handoff e-mails")
    ses_region: str = Field("", description="SES region; empty: ORATIO_AWS_REGION")
    ses_endpoint_url: str = Field("", description="SES endpoint override (tests)")
    resume_grace_seconds: float = Field(30.0, description="browser reconnect window")
    max_ws_message_bytes: int = Field(64 * 1024, description="largest WebSocket message")
    log_level: str = "info"
    jwt_secret: str = Field(
        "", description="HS256 key of console access tokens; empty: generated in data_dir"
    )
    access_token_ttl: float = Field(900.0, description="seconds a console access token lives")
    refresh_token_ttl: float = Field(
        30 * 24 * 3600.0, description="seconds a console refresh token lives (rotated on use)"
    )
    bcrypt_rounds: int = Field(12, ge=4, le=16, description="bcrypt cost of password hashes")
    login_max_failures: int = Field(
        5, description="failed logins per e-mail and IP address before answering 429"
    )
    login_window_seconds: float = Field(300.0, description="window of the login failure limit")
    auth_mode: Literal["local", "cognito"] = Field(
        "local", description="local: console passwords and JWTs; cognito: verify Cognito JWTs"
    )
    cognito_jwks_url: str = Field("", description="Cognito user pool JWKS URL (cognito mode)")
    cognito_issuer: str = Field(
        "", description="https://cognito-idp.<region>.amazonaws.com/<user pool id>"
    )
    cognito_client_id: str = Field("", description="app client id the tokens must be for")
    max_upload_bytes: int = Field(10 * 1024 * 1024, description="largest SOP document")
    max_upload_files: int = Field(20, description="SOP documents per agent")
    max_upload_request_bytes: int = Field(
        50 * 1024 * 1024, description="largest agent-creation upload request"
    )
    recording_url_ttl: float = Field(300.0, description="seconds a signed recording URL works")
    twilio_account_sid: str = Field("", description="Twilio account (AC...): transfer, hang-up")
    twilio_auth_token: str = Field(
        "", description="Twilio auth token: checks webhook signatures, authorizes REST calls"
    )
    twilio_api_url: str = Field(
        "", description="Twilio REST base URL; empty: api.twilio.com (the local simulator's)"
    )
    twilio_stream_token_ttl: float = Field(
        30.0, description="seconds a Media Stream token from the voice webhook stays valid"
    )

    @property
    def db_path(self) -> Path:
        return self.data_dir / "oratio.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def jwt_secret_file(self) -> Path:
        return self.data_dir / "jwt-secret"

    def jwt_key(self) -> str:
        """The configured JWT secret, else one generated once and kept in the data dir (0600)."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.jwt_secret_file
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # written aside, then linked: readers never see it half-written
            draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        secret = path.read_text().strip()
        if len(secret) < 32:
            raise ValueError(f"{path} holds a JWT secret shorter than 32 characters")
        return secret

    @property
    def twilio_token_file(self) -> Path:
        """Where `oratio demo` keeps the local auth token it generates (and the simulator reads)."""
        return self.data_dir / "twilio-auth-token"

    def twilio_token(self) -> str:
        """The configured auth token, else the demo's generated one, else empty."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        try:
            return self.twilio_token_file.read_text().strip()
        except OSError:
            return ""
