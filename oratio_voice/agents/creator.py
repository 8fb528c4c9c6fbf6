"""The AgentCreator: SOP documents in, a reviewed, validated, versioned Strands agent out.

A LangGraph StateGraph: intake -> parse -> plan -> review (>= 2 cycles, loops back to plan
with the reviewer's feedback) -> generate -> validate (loops back to generate with the
failures, up to a limit) -> package. Every node has an offline implementation; with a DSPy
LM, parse/plan/review/generate ask the model instead. Nothing is stored until `package`, so
a failed build leaves the previous version serving."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph

from oratio_voice.agents import planner
from oratio_voice.agents.codegen import render_agent
from oratio_voice.agents.intake import MAX_BYTES, MAX_FILES, ExtractedDocument, intake_documents
from oratio_voice.agents.package import list_versions, package_files, store_version
from oratio_voice.agents.sop_parser import parse_sops
from oratio_voice.agents.spec import AgentPlan, Review, SopSpec
from oratio_voice.agents.validate import validate_package
from oratio_voice.models import Document

Stage = Literal["intake", "parse", "plan", "review", "generate", "validate", "package"]
STAGES: tuple[Stage, ...] = ("intake", "parse", "plan", "review", "generate", "validate", "package")
Status = Literal["started", "done", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class BuildProgress:
    """One step of a build, for a CLI or console progress display."""

    stage: Stage
    status: Status
    detail: str = ""


ProgressCallback = Callable[[BuildProgress], Awaitable[None] | None]


class BuildError(Exception):
    """A build failed; `stage` names where and `reason` says why."""

    def __init__(self, stage: Stage, reason: str) -> None:
        super().__init__(f"build failed at {stage}: {reason}")
        self.stage = stage
        self.reason = reason


@dataclass
class BuildOptions:
    min_review_cycles: int = 2
    max_review_cycles: int = 4
    max_code_attempts: int = 3
    max_bytes: int = MAX_BYTES
    max_files: int = MAX_FILES
    check_timeout: float = 120.0


@dataclass
class BuildResult:
    tenant_id: str
    agent_id: str
    version: int
    prefix: str  # blob key prefix of the stored version
    spec: SopSpec
    plan: AgentPlan
    reviews: list[Review]
    documents: list[Document]
    files: dict[str, bytes] = field(repr=False)
    code_attempts: int = 1


class BuildState(TypedDict, total=False):
    documents: list[ExtractedDocument]
    spec: SopSpec
    plan: AgentPlan
    reviews: list[Review]
    feedback: str
    code: str
    code_attempts: int
    failures: list[str]
    conversations: list[dict[str, Any]]
    version: int
    files: dict[str, bytes]
    prefix: str


class _Build:
    """The nodes of one build, closed over its inputs."""

    def __init__(
        self,
        files: list[tuple[str, bytes]],
        *,
        name: str,
        tenant_id: str,
        agent_id: str,
        blobs: Any,
        progress: ProgressCallback | None,
        lm: Any,
        options: BuildOptions,
    ) -> None:
        self.files = files
        self.name = name
        self.tenant_id = tenant_id
        self.agent_id = agent_id
        self.blobs = blobs
        self.progress = progress
        self.options = options
        self.steps = None
        if lm is not None:
            from oratio_voice.agents.lm_steps import LmSteps

            self.steps = LmSteps(lm)
        self.generator = "dspy" if self.steps else "offline"

    async def report(self, stage: Stage, status: Status, detail: str = "") -> None:
        if self.progress is None:
            return
        outcome = self.progress(BuildProgress(stage, status, detail))
        if inspect.isawaitable(outcome):
            await outcome

    async def intake(self, state: BuildState) -> BuildState:
        await self.report("intake", "started", f"{len(self.files)} document(s)")
        documents = await intake_documents(
            self.files,
            tenant_id=self.tenant_id,
            agent_id=self.agent_id,
            blobs=self.blobs,
            max_bytes=self.options.max_bytes,
            max_files=self.options.max_files,
        )
        chunks = sum(len(d.chunks()) for d in documents)
        await self.report("intake", "done", f"{len(documents)} document(s), {chunks} sections")
        return {"documents": documents}

    async def parse(self, state: BuildState) -> BuildState:
        await self.report("parse", "started", self.generator)
        documents = state["documents"]
        if self.steps:
            joined = "\n\n".join(f"=== {d.document.name} ===\n{d.text}" for d in documents)
            spec = await self.steps.parse(joined)
        else:
            spec = parse_sops({d.document.name: d.text for d in documents})
        if not spec.procedures:
            raise BuildError(
                "parse",
                "the SOP describes no procedures (no numbered steps and no 'Ask for ...' "
                "instructions), so there is nothing for the agent to do",
            )
        detail = (
            f"{len(spec.procedures)} procedures, {len(spec.rules)} rules, "
            f"{len(spec.handoffs)} handoff conditions, {len(spec.faqs)} FAQs"
        )
        await self.report("parse", "done", detail)
        return {"spec": spec, "reviews": [], "feedback": ""}

    async def plan(self, state: BuildState) -> BuildState:
        cycle = len(state.get("reviews", [])) + 1
        await self.report("plan", "started", f"draft {cycle}")
        spec, feedback = state["spec"], state.get("feedback", "")
        if self.steps:
            plan = await self.steps.draft(spec, self.name, feedback)
        else:
            plan = planner.draft_plan(spec, agent_name=self.name, feedback=feedback)
        await self.report("plan", "done", f"{len(plan.tools)} tools")
        return {"plan": plan}

    async def review(self, state: BuildState) -> BuildState:
        reviews = list(state.get("reviews", []))
        cycle = len(reviews) + 1
        await self.report("review", "started", f"cycle {cycle}")
        spec, plan = state["spec"], state["plan"]
        verdict = planner.review_plan(spec, plan, cycle)
        if self.steps:
            opinion = await self.steps.review(spec, plan, cycle)
            verdict = Review(
                cycle=cycle,
                approved=verdict.approved and opinion.approved,
                issues=verdict.issues + opinion.issues,
                reviewer="quality-gate+model",
            )
        reviews.append(verdict)
        if verdict.approved:
            feedback = f"cycle {cycle} approved; re-check the plan once more"
            await self.report("review", "done", f"cycle {cycle} approved")
        else:
            feedback = "; ".join(verdict.issues)
            if cycle >= self.options.max_review_cycles:
                raise BuildError("review", f"the plan still fails review: {feedback}")
            await self.report("review", "retry", f"cycle {cycle}: {feedback}")
        return {"reviews": reviews, "feedback": feedback}

    def after_review(self, state: BuildState) -> str:
        reviews = state["reviews"]
        if reviews[-1].approved and len(reviews) >= self.options.min_review_cycles:
            return "generate"
        return "plan"

    async def generate(self, state: BuildState) -> BuildState:
        attempt = state.get("code_attempts", 0) + 1
        await self.report("generate", "started", f"attempt {attempt}")
        reference = render_agent(state["spec"], state["plan"])
        if self.steps:
            code = await self.steps.write_code(state["plan"], reference, state.get("failures", []))
        else:
            code = reference
        await self.report("generate", "done", f"{len(code.splitlines())} lines")
        return {"code": code, "code_attempts": attempt}

    async def validate(self, state: BuildState) -> BuildState:
        await self.report("validate", "started", "parse, structure, import, conversations")
        version = await self._next_version()
        files = self._files(state, version, conversations=[])
        report = await validate_package(
            files, state["spec"], state["plan"], timeout=self.options.check_timeout
        )
        if report.ok:
            turns = len(report.conversations)
            await self.report("validate", "done", f"{turns} scripted turns passed")
        elif state["code_attempts"] >= self.options.max_code_attempts:
            raise BuildError(
                "validate",
                f"generated code still fails after {state['code_attempts']} attempts: "
                + "; ".join(report.failures),
            )
        else:
            await self.report("validate", "retry", "; ".join(report.failures))
        return {"failures": report.failures, "conversations": report.conversations}

    def after_validate(self, state: BuildState) -> str:
        return "generate" if state["failures"] else "package"

    async def package(self, state: BuildState) -> BuildState:
        await self.report("package", "started")
        version = await self._next_version()
        files = self._files(state, version, conversations=state.get("conversations", []))
        prefix = await store_version(self.blobs, self.tenant_id, self.agent_id, version, files)
        await self.report("package", "done", f"version {version} at {prefix}")
        return {"version": version, "files": files, "prefix": prefix}

    async def _next_version(self) -> int:
        return max(await list_versions(self.blobs, self.tenant_id, self.agent_id), default=0) + 1

    def _files(
        self, state: BuildState, version: int, conversations: list[dict[str, Any]]
    ) -> dict[str, bytes]:
        return package_files(
            code=state["code"],
            spec=state["spec"],
            plan=state["plan"],
            reviews=state["reviews"],
            documents=state["documents"],
            conversations=conversations,
            tenant_id=self.tenant_id,
            agent_id=self.agent_id,
            version=version,
            generator=self.generator,
        )

    def graph(self) -> Any:
        graph = StateGraph(BuildState)
        for stage in STAGES:
            graph.add_node(stage, getattr(self, stage))
        graph.add_edge(START, "intake")
        graph.add_edge("intake", "parse")
        graph.add_edge("parse", "plan")
        graph.add_edge("plan", "review")
        graph.add_conditional_edges("review", self.after_review, ["plan", "generate"])
        graph.add_edge("generate", "validate")
        graph.add_conditional_edges("validate", self.after_validate, ["generate", "package"])
        graph.add_edge("package", END)
        return graph.compile()


async def build_agent(
    files: list[tuple[str, bytes]],
    *,
    name: str,
    tenant_id: str,
    agent_id: str,
    blobs: Any,
    progress: ProgressCallback | None = None,
    lm: Any = None,
    options: BuildOptions | None = None,
) -> BuildResult:
    """Build and store a new version of an agent from its SOP documents; raises BuildError.

    `lm` is a DSPy LM (e.g. `lm_steps.lm_for_bedrock(...)`); None runs fully offline."""
    from oratio_voice.agents.intake import IntakeError
    from oratio_voice.agents.lm_steps import SchemaError

    build = _Build(
        files,
        name=name,
        tenant_id=tenant_id,
        agent_id=agent_id,
        blobs=blobs,
        progress=progress,
        lm=lm,
        options=options or BuildOptions(),
    )
    current: list[Stage] = ["intake"]

    async def track(event: BuildProgress) -> None:
        current[0] = event.stage

    inner = build.progress
    build.progress = _tee(track, inner)
    limit = 10 + 3 * (build.options.max_review_cycles + build.options.max_code_attempts)
    try:
        state = await build.graph().ainvoke({}, config={"recursion_limit": limit})
    except BuildError as exc:
        await build.report(exc.stage, "failed", exc.reason)
        raise
    except (IntakeError, SchemaError, planner.NoProcedures) as exc:
        await build.report(current[0], "failed", str(exc))
        raise BuildError(current[0], str(exc)) from exc
    return BuildResult(
        tenant_id=tenant_id,
        agent_id=agent_id,
        version=state["version"],
        prefix=state["prefix"],
        spec=state["spec"],
        plan=state["plan"],
        reviews=state["reviews"],
        documents=[d.document for d in state["documents"]],
        files=state["files"],
        code_attempts=state["code_attempts"],
    )


def _tee(first: ProgressCallback, second: ProgressCallback | None) -> ProgressCallback:
    async def both(event: BuildProgress) -> None:
        await first(event)  # type: ignore[misc]
        if second is not None:
            outcome = second(event)
            if inspect.isawaitable(outcome):
                await outcome

    return both
