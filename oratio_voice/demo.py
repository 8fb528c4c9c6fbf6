"""Seeds the demo tenant, its sample agent (from examples/sops) and a publishable key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from oratio_voice.keys import issue_key
from oratio_voice.models import Agent, AgentConfig, Document, Tenant
from oratio_voice.services import Services
from oratio_voice.store.base import NotFound

SAMPLE_SOP = Path(__file__).resolve().parents[1] / "examples" / "sops" / "retail-returns.md"
DEMO_TENANT = "ten_demo"
DEMO_AGENT = "agt_demo"
DEMO_NUMBER = "+15555550100"


async def seed_demo(services: Services) -> dict[str, str]:
    """Idempotent: the same tenant, agent and key on every start with the same data dir."""
    store = services.store
    try:
        await store.get_tenant(DEMO_TENANT)
    except NotFound:
        await store.put_tenant(Tenant(id=DEMO_TENANT, name="Northwind Outfitters (demo)"))
    tenant = store.tenant(DEMO_TENANT)
    text = SAMPLE_SOP.read_bytes()
    sha = hashlib.sha256(text).hexdigest()
    document = Document(
        name=SAMPLE_SOP.name,
        blob_key=f"{DEMO_TENANT}/agents/{DEMO_AGENT}/docs/{SAMPLE_SOP.name}",
        sha256=sha,
        size=len(text),
    )
    await services.blobs.put(document.blob_key, text)
    try:
        agent = await tenant.get_agent(DEMO_AGENT)
        if agent.documents != [document]:
            agent = agent.model_copy(update={"documents": [document], "version": agent.version + 1})
            await tenant.put_agent(agent)
    except NotFound:
        agent = Agent(
            id=DEMO_AGENT,
            tenant_id=DEMO_TENANT,
            name="Northwind Returns",
            description="Returns, exchanges and refunds for Northwind Outfitters",
            config=AgentConfig(
                greeting="Hi, this is Northwind Outfitters. How can I help with your order?",
                phone_numbers=[DEMO_NUMBER],
            ),
            documents=[document],
        )
        await tenant.put_agent(agent)
    return {"agent_id": agent.id, "agent_name": agent.name, "api_key": await _demo_key(services)}


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
