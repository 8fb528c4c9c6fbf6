"""The `oratio` command: serve the product, or serve it with the sample agent seeded."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from oratio_voice import __version__
from oratio_voice.config import Settings


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
    base = f"http://{settings.host}:{settings.port}"
    print(f"Oratio Voice {__version__} on {base}", flush=True)
    if demo:
        print(f"  talk to the sample agent:  {base}/demo", flush=True)
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
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f"oratio: invalid settings: {exc}", file=sys.stderr)
        return 2
    if args.command in ("serve", "demo"):
        serve(settings, demo=args.command == "demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
