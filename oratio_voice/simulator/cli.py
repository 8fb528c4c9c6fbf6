"""`oratio simulate twilio`: phone calls to an Oratio server without a Twilio account."""

from __future__ import annotations

import argparse
import asyncio
import audioop
import logging
import os
import sys
import wave
from pathlib import Path

from oratio_voice.config import Settings
from oratio_voice.demo import DEMO_NUMBER, LOCAL_TWILIO_API, local_account_sid
from oratio_voice.simulator.twilio_call import (
    RATE,
    CallReport,
    CallScript,
    CallStep,
    Press,
    SimulatedCall,
    Speak,
    TwilioAccount,
    Twiml,
)
from oratio_voice.simulator.twilio_rest import TwilioRestEmulator
from pipeline.engines import tts
from pipeline.resampler import StreamResampler

ENDINGS = {
    "caller": "the caller hung up",
    "rest": "the server updated the call over Twilio REST",
    "server": "the server closed the stream",
    "twilio": "the line went dead",
    "refused": "the server refused the call",
}


class SimulatorError(Exception):
    """Bad options or input files: reported in one line, no traceback."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server (http or ws)")
    parser.add_argument("--number", default=DEMO_NUMBER, help="the number called (To)")
    parser.add_argument("--caller", default="+15550001111", help="the calling number (From)")
    parser.add_argument("--wav", type=Path, action="append", default=[], help="caller speech")
    parser.add_argument("--say", action="append", default=[], help="caller speech (local TTS)")
    parser.add_argument("--dtmf", default="", help="digits to press after speaking, e.g. 0")
    parser.add_argument("--out", type=Path, help="save what the caller heard to this WAV")
    parser.add_argument("--calls", type=int, default=1, help="simultaneous calls (default 1)")
    parser.add_argument("--data-dir", type=Path, help="where `oratio demo` keeps its token")
    parser.add_argument(
        "--rest-port",
        type=int,
        default=int(LOCAL_TWILIO_API.rsplit(":", 1)[1]),
        help="answer Twilio REST (transfer, hang-up) here; 0: off",
    )


def account_from(data_dir: Path | None) -> TwilioAccount:
    """ORATIO_TWILIO_AUTH_TOKEN, else the token `oratio demo` generated in the data dir."""
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    token = settings.twilio_token()
    if not token:
        raise SimulatorError(
            f"no Twilio auth token: set ORATIO_TWILIO_AUTH_TOKEN, or run `oratio demo` first "
            f"(it writes {settings.twilio_token_file})"
        )
    return TwilioAccount(settings.twilio_account_sid or local_account_sid(token), token)


def read_wav(path: Path) -> bytes:
    """PCM16 mono 8 kHz from a WAV file (16-bit PCM, any rate, mono or stereo)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise SimulatorError(f"{path}: need 16-bit PCM, got {8 * wav.getsampwidth()}-bit")
            pcm = wav.readframes(wav.getnframes())
            if wav.getnchannels() == 2:
                pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
            elif wav.getnchannels() != 1:
                raise SimulatorError(f"{path}: need mono or stereo audio")
            rate = wav.getframerate()
    except (OSError, wave.Error, EOFError) as exc:
        raise SimulatorError(f"{path}: {exc}") from None
    if rate == RATE:
        return pcm
    resampler = StreamResampler(rate, RATE)
    return resampler.process(pcm) + resampler.flush()


def write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)


async def synthesize(text: str) -> bytes:
    """The caller's line spoken by the local TTS (espeak-ng, the `local` extra)."""
    try:
        return await asyncio.to_thread(tts.synthesize, text, RATE)
    except tts.SynthesisError as exc:
        raise SimulatorError(f"--say needs the local TTS ({exc})") from None


async def build_script(args: argparse.Namespace) -> CallScript:
    steps: list[CallStep] = [Speak(read_wav(path), path.name) for path in args.wav]
    for text in args.say:
        steps.append(Speak(await synthesize(text), text))
    if args.dtmf:
        steps.append(Press(args.dtmf))
    return CallScript(steps=steps, caller=args.caller)


async def simulate(args: argparse.Namespace) -> list[CallReport]:
    account = account_from(args.data_dir)
    script = await build_script(args)
    calls = [SimulatedCall(args.url, args.number, account, script) for _ in range(args.calls)]
    rest = None
    if args.rest_port:
        rest = TwilioRestEmulator(account, port=args.rest_port)
        try:
            await rest.start()
        except OSError:  # another simulator has the port: transfers won't show
            print(f"note: Twilio REST emulator off ({rest.url} is taken)", file=sys.stderr)
            rest = None
    for call in calls:
        if rest is not None:
            rest.register(call)
    try:
        return list(await asyncio.gather(*(call.run() for call in calls)))
    finally:
        if rest is not None:
            await rest.stop()


def print_report(report: CallReport, verbose: bool = True) -> None:
    print(f"call {report.call_sid} {report.number}:")
    for at, text in report.events if verbose else []:
        print(f"  [{at:6.2f}s] {text}")
    if report.error:
        print(f"  error: {report.error}")
    for name, pcm in report.utterances() if verbose else []:
        print(f"  heard {name}: {len(pcm) / 2 / RATE:.1f} s of agent speech")
    if report.redirected_to:
        print(f"  transferred: {Twiml(report.redirected_to).describe()}")
    if report.after_stream is not None:
        print(f"  after the stream: {report.after_stream.describe()}")
    print(
        f"  heard {report.heard_seconds:.1f} s of agent audio in {len(report.marks)} "
        f"utterance(s); {ENDINGS.get(report.ended_by, 'the call did not start')}"
    )


def run(args: argparse.Namespace) -> int:
    if args.calls < 1:
        print("oratio simulate twilio: --calls must be at least 1", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        reports = asyncio.run(simulate(args))
    except SimulatorError as exc:
        print(f"oratio simulate twilio: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    for report in reports:
        print_report(report, verbose=len(reports) == 1)
    if args.out is not None and reports:
        write_wav(args.out, bytes(reports[0].received))
        print(f"saved what the caller heard to {os.fspath(args.out)}")
    return 1 if any(r.error for r in reports) else 0
