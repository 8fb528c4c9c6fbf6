"""Offline speech synthesis: espeak-ng (bundled by espeakng-loader) driven through ctypes."""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import threading
from collections.abc import AsyncGenerator, Iterator

from pipeline.resampler import StreamResampler

NATIVE_RATE = 22050
DEFAULT_VOICE = "en-us"

# Nova Sonic voice names mapped onto espeak-ng voices, so one EngineConfig serves both engines.
_VOICES = {
    "tiffany": "en-us+f3",
    "matthew": "en-us",
    "amy": "en+f3",
}

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SynthesisError(RuntimeError):
    """espeak-ng could not be loaded or failed to synthesize."""


def espeak_voice(voice: str) -> str:
    """The espeak-ng voice for a configured voice name (Nova Sonic names or espeak names)."""
    name = voice.strip()
    return _VOICES.get(name.lower(), name or DEFAULT_VOICE)


class _Espeak:
    """The process-wide espeak-ng instance: the C library keeps global state, hence one lock."""

    def __init__(self) -> None:
        try:
            import espeakng_loader

            lib_path = espeakng_loader.get_library_path()
            data_path = espeakng_loader.get_data_path()
            lib = ctypes.CDLL(lib_path)
        except (ImportError, OSError, RuntimeError) as exc:
            raise SynthesisError(f"espeak-ng is not available: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        # espeak_Initialize takes the folder that CONTAINS espeak-ng-data.
        root = os.path.dirname(data_path).encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, root, 0)
        if rate <= 0:
            raise SynthesisError(f"espeak_Initialize failed ({rate}) with data at {data_path}")
        self.rate = rate
        self._lib = lib
        self._chunks: list[bytes] = []
        self._callback = _CALLBACK(self._on_samples)  # kept alive: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._voice = ""
        self.lock = threading.Lock()

    def _on_samples(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _: int) -> int:
        if count > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def synthesize(self, text: str, voice: str, words_per_minute: int) -> bytes:
        """PCM16 at `self.rate` for `text`; blocking, hold no other lock while calling."""
        with self.lock:
            if voice != self._voice:
                # An unknown voice name falls back to the default: a voice beats silence.
                if self._lib.espeak_SetVoiceByName(voice.encode()) != 0 and (
                    self._lib.espeak_SetVoiceByName(DEFAULT_VOICE.encode()) != 0
                ):
                    raise SynthesisError(f"espeak-ng has neither voice {voice!r} nor the default")
                self._voice = voice
            self._lib.espeak_SetParameter(_PARAM_RATE, words_per_minute, 0)
            data = text.encode() + b"\0"
            self._chunks = []
            err = self._lib.espeak_Synth(
                data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            if err != 0:
                raise SynthesisError(f"espeak_Synth failed with status {err}")
            pcm = b"".join(self._chunks)
            self._chunks = []
            return pcm


_instance: _Espeak | None = None
_instance_lock = threading.Lock()


def _espeak() -> _Espeak:
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _Espeak()
        return _instance


def check() -> None:
    """Raise SynthesisError unless espeak-ng loads and speaks."""
    if not synthesize_native("ok"):
        raise SynthesisError("espeak-ng produced no audio")


def synthesize_native(text: str, voice: str = DEFAULT_VOICE, words_per_minute: int = 165) -> bytes:
    """PCM16 at NATIVE_RATE (blocking)."""
    return _espeak().synthesize(text, espeak_voice(voice), words_per_minute)


def synthesize(
    text: str, sample_rate: int = 16000, voice: str = DEFAULT_VOICE, words_per_minute: int = 165
) -> bytes:
    """PCM16 mono at `sample_rate` for `text` (blocking; whole text at once)."""
    native = synthesize_native(text, voice, words_per_minute)
    if sample_rate == NATIVE_RATE:
        return native
    resampler = StreamResampler(NATIVE_RATE, sample_rate)
    return resampler.process(native) + resampler.flush()


def sentences(text: str) -> Iterator[str]:
    """Split an answer into sentences so the first one can play while the rest synthesize."""
    for part in _SENTENCE.split(text.strip()):
        if part.strip():
            yield part.strip()


async def stream(
    text: str, sample_rate: int, voice: str = DEFAULT_VOICE, chunk_ms: int = 40
) -> AsyncGenerator[bytes, None]:
    """PCM16 chunks of `chunk_ms` for `text`, synthesized sentence by sentence off the loop."""
    resampler = None if sample_rate == NATIVE_RATE else StreamResampler(NATIVE_RATE, sample_rate)
    chunk_bytes = sample_rate * chunk_ms // 1000 * 2
    pending = b""
    for sentence in sentences(text):
        native = await asyncio.to_thread(synthesize_native, sentence, voice)
        pending += resampler.process(native) if resampler else native
        while len(pending) >= chunk_bytes:
            yield pending[:chunk_bytes]
            pending = pending[chunk_bytes:]
    if resampler:
        pending += resampler.flush()
    for start in range(0, len(pending), chunk_bytes):
        yield pending[start : start + chunk_bytes]
