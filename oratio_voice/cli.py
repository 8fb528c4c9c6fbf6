"""The `oratio` command: serve the product, or serve it with the sample agent seeded."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from oratio_voice import __version__
from oratio_voice.config import Settings
from oratio_voice.logs import redact_server_logs


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (ORATIO_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (ORATIO_PORT, 8000)")
    parser.add_argument("--data-dir", type=Path, help="SQLite, blobs, secrets (ORATIO_DATA_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oratio", description="Oratio Voice: voice agents from SOPs, with live handoff."
    )
    parser.add_argument("--version", action="version", version=f"oratio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the server")
    _server_flags(serve)
    demo = commands.add_parser("demo", help="seed the sample agent (idempotent), then serve")
    _server_flags(demo)
    agents = commands.add_parser("agents", help="build agents from SOP documents")
    agent_commands = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    build = agent_commands.add_parser("build", help="SOP files -> a validated, versioned agent")
    build.add_argument("files", nargs="+", type=Path, help="Markdown, text, PDF or DOCX SOPs")
    build.add_argument("--name", required=True, help="the agent's name")
    build.add_argument("--agent-id", help="rebuild this agent (a new version)")
    build.add_argument("--tenant", default="ten_demo", help="tenant id (default: the demo's)")
    build.add_argument("--data-dir", type=Path, help="SQLite, blobs, secrets (ORATIO_DATA_DIR)")
    deploy = agent_commands.add_parser(
        "deploy", help="point the agent's AgentCore runtime at a version (a rollback too)"
    )
    deploy.add_argument("agent_id")
    deploy.add_argument("--version", type=int, required=True, help="a stored version")
    deploy.add_argument("--tenant", default="ten_demo", help="tenant id (default: the demo's)")
    deploy.add_argument("--data-dir", type=Path, help="SQLite, blobs, secrets (ORATIO_DATA_DIR)")
    from oratio_voice.simulator.cli import add_arguments as twilio_flags

    simulate = commands.add_parser("simulate", help="place simulated calls (no carrier account)")
    carriers = simulate.add_subparsers(dest="carrier", required=True, metavar="CARRIER")
    twilio_flags(carriers.add_parser("twilio", help="phone calls the way Twilio makes them"))
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        name: value
        for name in ("host", "port", "data_dir")
        if (value := getattr(args, name, None)) is not None
    }
    return Settings(**overrides)


def serve(settings: Settings, *, demo: bool) -> None:
    import uvicorn

    from oratio_voice.app import create_app

    app = create_app(settings, demo=demo)
    redact_server_logs()
    base = f"http://{settings.host}:{settings.port}"
    print(f"Oratio Voice {__version__} on {base}", flush=True)
    if demo:
        print(f"  talk to the sample agent:  {base}/demo", flush=True)
        print(
            f"  or phone it: oratio simulate twilio --url {base} --data-dir {settings.data_dir}"
            " --say 'How long do I have to return an item?' --out heard.wav",
            flush=True,
        )
    print(f"  health: {base}/healthz   readiness: {base}/readyz   API docs: {base}/docs")
    print(f"  data:   {settings.data_dir.resolve()}", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_max_size=max(settings.max_ws_message_bytes * 2, 1 << 20),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "simulate":
        from oratio_voice.simulator.cli import run as simulate

        return simulate(args)
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f"oratio: invalid settings: {exc}", file=sys.stderr)
        return 2
    if args.command == "agents" and args.agents_command == "deploy":
        return asyncio.run(deploy_agent_command(settings, args))
    if args.command == "agents":
        return asyncio.run(build_agent_command(settings, args))
    serve(settings, demo=args.command == "demo")
    return 0


async def deploy_agent_command(settings: Settings, args: argparse.Namespace) -> int:
    """`oratio agents deploy`: a stored version goes live on AgentCore (or back to it)."""
    from oratio_voice.agents.deploy import DeployError
    from oratio_voice.builds import AgentBuilder
    from oratio_voice.events import InProcessEventBus
    from oratio_voice.services import deployer
    from oratio_voice.store.base import NotFound
    from oratio_voice.store.blobs import LocalBlobStore
    from oratio_voice.store.sqlite import SQLiteStore

    async with SQLiteStore(settings.db_path) as store:
        builder = AgentBuilder(
            store, LocalBlobStore(settings.blob_dir), InProcessEventBus(), deployer(settings)
        )
        try:
            agent = await builder.deploy(args.tenant, args.agent_id, args.version)
        except (DeployError, NotFound) as exc:
            print(f"oratio: {exc}", file=sys.stderr)
            return 1
    print(f"agent {agent.id} version {agent.version} deployed: {agent.runtime_arn}")
    return 0


async def build_agent_command(settings: Settings, args: argparse.Namespace) -> int:
    """`oratio agents build`: progress by stage, then where the new version lives."""
    from oratio_voice.agents.build_cli import ProgressPrinter
    from oratio_voice.agents.creator import BuildError
    from oratio_voice.builds import AgentBuilder
    from oratio_voice.events import InProcessEventBus
    from oratio_voice.models import Tenant
    from oratio_voice.store.base import NotFound
    from oratio_voice.store.blobs import LocalBlobStore
    from oratio_voice.store.sqlite import SQLiteStore

    try:
        files = [(path.name, path.read_bytes()) for path in args.files]
    except OSError as exc:
        print(f"oratio: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with SQLiteStore(settings.db_path) as store:
        try:
            await store.get_tenant(args.tenant)
        except NotFound:
            await store.put_tenant(Tenant(id=args.tenant, name=args.tenant))
        builder = AgentBuilder(store, LocalBlobStore(settings.blob_dir), InProcessEventBus())
        try:
            agent = await builder.build(
                args.tenant,
                args.name,
                files,
                agent_id=args.agent_id,
                progress=ProgressPrinter(sys.stdout),
            )
        except BuildError as exc:
            print(f"build failed at {exc.stage}: {exc.reason}", file=sys.stderr)
            return 1
    print(f"agent {agent.id} ({agent.name}) version {agent.version} is {agent.status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
