"""Nova Sonic's side of a whole call, played on the protocol-checking double (`tests.nova_double`).

The model greets when the engine asks it to, turns each caller turn (typed, or spoken: a burst
of loud audio, then quiet) into an `ask_agent` tool use, speaks the tool's answer as a tone whose
length follows the text, and reports barge-in (`interrupt`) when the caller speaks over it while
its last answer is still playing (typed text does not interrupt). `on_turn` lets a test or a
benchmark take a turn over, e.g. to inject a fault instead of asking the agent.
"""

from __future__ import annotations

import base64
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.nova_double import NovaDouble, NovaDoubleStream
from tests.scripted_engine import tone

GREETING_CUE = "Greet the caller with:"
LOUD = 1000  # peak sample value of caller speech
SPEECH_CHUNKS = 5  # loud chunks that make a turn (then one quiet chunk ends it)

TurnHook = Callable[[NovaDoubleStream, str], bool]


class TimedNovaDouble(NovaDouble):
    """The double, remembering when it refused to open a stream (an injected open failure)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused_at: list[float] = []

    async def __call__(self) -> NovaDoubleStream:
        if self.open_failures:
            self.refused_at.append(time.monotonic())
        return await super().__call__()


@dataclass
class _Heard:
    texts: int = 0
    results: int = 0
    loud: int = 0
    speaking_until: float = 0.0


class ScriptedNovaModel:
    """Attach to a double: every stream it opens gets this model's behaviour."""

    def __init__(
        self, double: NovaDouble, utterances: list[str] | None = None, ms_per_word: int = 350
    ) -> None:
        self.double = double
        self.utterances = list(utterances or [])
        self.ms_per_word = ms_per_word
        self.on_turn: TurnHook | None = None
        self.questions: list[tuple[float, str]] = []  # (when, toolUseId) of each ask_agent
        self.spoken: list[str] = []
        self.interruptions = 0
        self._heard: dict[int, _Heard] = {}
        double.on_event = self._on_event

    def _on_event(self, stream: NovaDoubleStream, name: str, body: dict[str, Any]) -> None:
        heard = self._heard.setdefault(stream.number, _Heard())
        if name == "audioInput":
            self._listen(stream, heard, body["content"])
        elif name == "contentEnd":
            while heard.texts < len(stream.texts):
                heard.texts += 1
                self._typed(stream, heard, stream.texts[heard.texts - 1])
            while heard.results < len(stream.tool_results):
                heard.results += 1
                _, result = stream.tool_results[heard.results - 1]
                if isinstance(result, dict) and result.get("answer"):
                    self.say(stream, str(result["answer"]))

    def _listen(self, stream: NovaDoubleStream, heard: _Heard, content: str) -> None:
        samples = array("h", base64.b64decode(content))
        if samples and max(max(samples), -min(samples)) > LOUD:
            if heard.loud == 0:
                self._barge_in(stream, heard)
            heard.loud += 1
        elif heard.loud >= SPEECH_CHUNKS:
            heard.loud = 0
            text = self.utterances.pop(0) if self.utterances else "caller speech"
            stream.caller_says(text)
            self._turn(stream, text)
        else:
            heard.loud = 0

    def _typed(self, stream: NovaDoubleStream, heard: _Heard, text: str) -> None:
        if GREETING_CUE in text:
            self.say(stream, text.split(GREETING_CUE, 1)[1].strip().rstrip(")").strip())
            return
        self._turn(stream, text)  # typed text is no barge-in: Nova detects that in speech

    def _barge_in(self, stream: NovaDoubleStream, heard: _Heard) -> None:
        if time.monotonic() < heard.speaking_until:
            heard.speaking_until = 0.0
            self.interruptions += 1
            stream.interrupt()

    def _turn(self, stream: NovaDoubleStream, text: str) -> None:
        if self.on_turn is not None and self.on_turn(stream, text):
            return
        tool_use_id = stream.tool_use("ask_agent", {"question": text})
        self.questions.append((time.monotonic(), tool_use_id))

    def say(self, stream: NovaDoubleStream, text: str) -> None:
        """Speak `text` now: speculative text, audio, final text (faster than real time)."""
        rate = int(stream.prompt_config["audioOutputConfiguration"]["sampleRateHertz"])
        ms = min(max(self.ms_per_word * len(text.split()), 300), 4000)  # ~170 words a minute
        stream.assistant_says(text, tone(ms, rate), chunk=rate // 50 * 2)
        self.spoken.append(text)
        heard = self._heard.setdefault(stream.number, _Heard())
        heard.speaking_until = time.monotonic() + ms / 1000
