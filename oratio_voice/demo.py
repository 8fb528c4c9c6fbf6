"""Seeds the demo tenant, its sample agent (from examples/sops) and a publishable key."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from oratio_voice.agents.build_cli import ProgressPrinter
from oratio_voice.config import Settings
from oratio_voice.keys import issue_key
from oratio_voice.models import Agent, AgentConfig, Document, Tenant, User
from oratio_voice.passwords import hash_password
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound

SAMPLE_SOP = Path(__file__).resolve().parents[1] / "examples" / "sops" / "retail-returns.md"
DEMO_TENANT = "ten_demo"
DEMO_AGENT = "agt_demo"
DEMO_NUMBER = "+15555550100"
DEMO_EMAIL = "demo@northwind.example"
LOCAL_TWILIO_API = "http://127.0.0.1:8089"  # `oratio simulate twilio` answers Twilio REST here


async def seed_demo(services: Services) -> dict[str, str]:
    """Idempotent: the same tenant, agent and key on every start with the same data dir."""
    store = services.store
    ensure_local_twilio(services.settings)
    try:
        await store.get_tenant(DEMO_TENANT)
    except NotFound:
        await store.put_tenant(Tenant(id=DEMO_TENANT, name="Northwind Outfitters (demo)"))
    text = SAMPLE_SOP.read_bytes()
    if services.settings.agent_runtime == "local":
        agent = await _built_agent(services, text)
    else:
        agent = await _document_agent(services, text)
    await services.agents.client_for(agent)  # the first caller should not wait for a start-up
    email, password = await _demo_user(services)
    settings = services.settings
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"  console:  {base}/console   login: {email} / {password}", flush=True)
    return {"agent_id": agent.id, "agent_name": agent.name, "api_key": await _demo_key(services)}


async def _demo_user(services: Services) -> tuple[str, str]:
    """A console admin for the demo tenant; its password is kept in the data dir (0600)."""
    path = services.settings.data_dir / "demo-console-password"
    user = await services.store.find_user_by_email(DEMO_EMAIL)
    if user is not None and path.exists():
        return DEMO_EMAIL, path.read_text().strip()
    password = secrets.token_urlsafe(9)
    hashed = await asyncio.to_thread(hash_password, password, services.settings.bcrypt_rounds)
    if user is None:
        user = User(tenant_id=DEMO_TENANT, email=DEMO_EMAIL, password_hash=hashed)
    else:
        user = user.model_copy(update={"password_hash": hashed})
    await services.store.put_user(user)
    path.write_text(password)
    os.chmod(path, 0o600)
    return DEMO_EMAIL, password


def _new_agent(**fields: Any) -> Agent:
    return Agent(
        id=DEMO_AGENT,
        tenant_id=DEMO_TENANT,
        name="Northwind Returns",
        description="Returns, exchanges and refunds for Northwind Outfitters",
        config=AgentConfig(
            greeting="Hi, this is Northwind Outfitters. How can I help with your order?",
            phone_numbers=[DEMO_NUMBER],
        ),
        **fields,
    )


async def _built_agent(services: Services, text: bytes) -> Agent:
    """The sample SOP through the AgentCreator, rebuilt only when the SOP changed."""
    tenant = services.store.tenant(DEMO_TENANT)
    sha = hashlib.sha256(text).hexdigest()
    try:
        agent = await tenant.get_agent(DEMO_AGENT)
    except NotFound:
        agent = await tenant.put_agent(_new_agent(status="building", version=0))
    if agent.version and [d.sha256 for d in agent.documents] == [sha]:
        return agent
    print("building the sample agent from", SAMPLE_SOP.name, flush=True)
    return await services.builder.build(
        DEMO_TENANT,
        agent.name,
        [(SAMPLE_SOP.name, text)],
        agent_id=DEMO_AGENT,
        progress=ProgressPrinter(sys.stdout),
    )


async def _document_agent(services: Services, text: bytes) -> Agent:
    """The sample SOP served in-process (no build): quick, for tests."""
    tenant = services.store.tenant(DEMO_TENANT)
    document = Document(
        name=SAMPLE_SOP.name,
        blob_key=f"{DEMO_TENANT}/agents/{DEMO_AGENT}/docs/{SAMPLE_SOP.name}",
        sha256=hashlib.sha256(text).hexdigest(),
        size=len(text),
    )
    await services.blobs.put(document.blob_key, text)
    try:
        agent = await tenant.get_agent(DEMO_AGENT)
    except NotFound:
        return await tenant.put_agent(_new_agent(documents=[document]))
    if agent.documents != [document]:
        agent = agent.model_copy(update={"documents": [document], "version": agent.version + 1})
        await tenant.put_agent(agent)
    return agent


async def _demo_key(services: Services) -> str:
    """The demo page embeds its key, so the raw key is kept in the data dir (mode 0600)."""
    path = services.settings.data_dir / "demo-api-key"
    if path.exists():
        raw = path.read_text().strip()
        key = await services.store.find_api_key_by_prefix(raw.partition(".")[0])
        if key is not None and key.revoked_at is None:
            return raw
    record, raw = issue_key(DEMO_TENANT, DEMO_AGENT, name="demo page", rate_limit_per_minute=120)
    await services.store.tenant(DEMO_TENANT).put_api_key(record)
    path.write_text(raw)
    os.chmod(path, 0o600)
    return raw


def local_account_sid(token: str) -> str:
    """The demo's stand-in Twilio account SID, derived from its generated auth token."""
    return "AC" + hashlib.sha256(b"oratio local twilio account:" + token.encode()).hexdigest()[:32]


def ensure_local_twilio(settings: Settings) -> None:
    """No Twilio auth token configured: generate one (mode 0600) so webhook and stream signatures
    are checked in the demo too, and send Twilio REST calls to the local simulator."""
    if settings.twilio_auth_token:
        return
    path = settings.twilio_token_file
    if not settings.twilio_token():
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(16))
    token = settings.twilio_token()
    if token and not settings.twilio_account_sid:
        settings.twilio_account_sid = local_account_sid(token)
        settings.twilio_api_url = settings.twilio_api_url or LOCAL_TWILIO_API
