"""Schemathesis over the console API's own OpenAPI schema, against a real server: generated
valid and invalid requests to every GET/POST/PATCH under /api, signed in, with made-up ids and
with real ones, must never meet a server error (5xx). Bounded: a few examples per operation."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tests.integration.test_console_support import client, console_server, register, seed

EXAMPLES = 8
UPLOAD_EXAMPLES = 3  # each accepted upload starts a build


def fuzz(
    raw_schema: dict[str, Any], base_url: str, headers: dict[str, str], ids: dict[str, str]
) -> tuple[int, list[str]]:
    """(operations fuzzed, descriptions of server errors)."""
    schema = schemathesis.openapi.from_dict(raw_schema).include(
        path_regex=r"^/api/", method=["GET", "POST", "PATCH"]
    )
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        operations += 1
        names = set(re.findall(r"{(\w+)}", operation.path))
        fixed = {name: ids[name] for name in names if name in ids}
        runs: list[tuple[dict[str, str], GenerationMode]] = [
            ({}, GenerationMode.POSITIVE),
            ({}, GenerationMode.NEGATIVE),
        ]
        if fixed:
            runs.append((fixed, GenerationMode.POSITIVE))
        for path_parameters, mode in runs:
            probe = make_probe(operation, mode, path_parameters, base_url, headers, ids, failures)
            probe()
    return operations, failures


def make_probe(
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, str],
    base_url: str,
    headers: dict[str, str],
    ids: dict[str, str],
    failures: list[str],
) -> Callable[[], None]:
    call_headers = dict(headers)
    if operation.path.startswith("/api/chat/"):
        call_headers["X-Api-Key"] = ids["api_key"]

    @settings(
        max_examples=UPLOAD_EXAMPLES if operation.path == "/api/agents" else EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    def probe(case: Any) -> None:
        response = case.call(base_url=base_url, headers=call_headers, timeout=30)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} {mode.value} -> "
                f"{response.status_code}: {response.text[:200]}"
            )

    return probe


async def test_fuzzing_the_schema_finds_no_server_errors(tmp_path: Path) -> None:
    set_hypothesis_home_dir(tmp_path / "hypothesis")  # keep the working tree clean
    try:
        async with console_server(tmp_path / "data", login_max_failures=10_000) as server:
            async with client(server) as http:
                api = await register(http, "Fuzz")
                seeded = await seed(server, api.tenant_id)
                raw = (await http.get("/openapi.json")).json()
            ids = {
                "agent_id": seeded.agent.id,
                "session_id": seeded.session.id,
                "notification_id": seeded.notification.id,
                "key_id": seeded.key_id,
                "api_key": seeded.raw_key,
            }
            operations, failures = await asyncio.to_thread(
                fuzz, raw, server.base_url, api.auth, ids
            )
            assert operations >= 20
            assert failures == []
            # The server still answers normally afterwards.
            async with client(server) as http:
                assert (await http.get("/api/auth/me", headers=api.auth)).status_code == 200
    finally:
        set_hypothesis_home_dir(None)
