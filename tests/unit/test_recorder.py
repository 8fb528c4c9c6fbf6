"""The call recorder writes what the caller heard: caller left, agent right, barge-in cut."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from pipeline.frames import InputAudioFrame, InterruptionFrame, OutputAudioFrame
from pipeline.recorder import CallRecorder

RATE = 8000


def pcm(value: int, ms: int) -> bytes:
    return np.full(RATE * ms // 1000, value, dtype="<i2").tobytes()


def channels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, RATE)
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return data[0::2], data[1::2]


def test_agent_audio_starts_where_the_caller_is_and_barge_in_cuts_it(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path / "call.wav", RATE)
    out: list[object] = []
    recorder.link(out.append)
    for _ in range(50):  # one second of caller speech, 20 ms frames
        recorder.process(InputAudioFrame(pcm(100, 20), RATE))
    recorder.process(OutputAudioFrame(pcm(200, 3000), RATE))  # 3 s answer arrives at once
    for _ in range(25):  # the caller listens half a second, then barges in
        recorder.process(InputAudioFrame(pcm(0, 20), RATE))
    recorder.process(InterruptionFrame())
    for _ in range(25):
        recorder.process(InputAudioFrame(pcm(300, 20), RATE))
    caller, agent = channels(recorder.close())
    assert len(out) == 102  # every frame passes on
    assert len(caller) == 2 * RATE
    assert (caller[:RATE] == 100).all() and (caller[-RATE // 2 :] == 300).all()
    assert (agent[:RATE] == 0).all()
    assert (agent[RATE : RATE + RATE // 2] == 200).all()  # what was heard before barge-in
    assert (agent[RATE + RATE // 2 :] == 0).all()  # the unheard rest is gone


def test_an_answer_longer_than_the_call_is_kept_whole(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path / "call.wav", RATE)
    recorder.process(InputAudioFrame(pcm(1, 100), RATE))
    recorder.process(OutputAudioFrame(pcm(2, 500), RATE))
    recorder.process(OutputAudioFrame(pcm(3, 16), 16000))  # another rate: not recorded
    caller, agent = channels(recorder.close())
    assert len(agent) == RATE * 600 // 1000
    assert (caller[RATE // 10 :] == 0).all() and (agent[RATE // 10 :] == 2).all()
