"""Pipeline and FrameProcessor chaining, and the AudioResampler processor."""

from __future__ import annotations

import numpy as np

from pipeline.frames import (
    AudioFrame,
    DTMFFrame,
    EndFrame,
    Frame,
    InputAudioFrame,
    OutputAudioFrame,
    TranscriptFrame,
)
from pipeline.processor import FrameProcessor, Pipeline
from pipeline.processors import AudioResampler
from pipeline.resampler import StreamResampler


class Recorder(FrameProcessor):
    """Logs (name, frame) into a shared journal, then passes the frame on."""

    def __init__(self, name: str, journal: list[tuple[str, Frame]]) -> None:
        super().__init__()
        self.name = name
        self.journal = journal

    def process(self, frame: Frame) -> None:
        self.journal.append((self.name, frame))
        self.push(frame)


class DropDigits(FrameProcessor):
    def process(self, frame: Frame) -> None:
        if not isinstance(frame, DTMFFrame):
            self.push(frame)


class Twice(FrameProcessor):
    def process(self, frame: Frame) -> None:
        self.push(frame)
        self.push(frame)


def _pcm(samples: np.ndarray) -> bytes:
    return np.rint(samples).astype("<i2").tobytes()


def test_frames_visit_every_processor_in_order_then_the_sink() -> None:
    journal: list[tuple[str, Frame]] = []
    received: list[Frame] = []
    pipeline = Pipeline([Recorder(name, journal) for name in "abc"], sink=received.append)
    frames = [DTMFFrame("1"), TranscriptFrame("caller", "hi"), EndFrame()]
    for frame in frames:
        pipeline.push(frame)
    assert [name for name, _ in journal] == list("abcabcabc")
    assert [frame for _, frame in journal] == [f for f in frames for _ in "abc"]
    assert received == frames
    assert all(got is sent for got, sent in zip(received, frames, strict=True))


def test_a_processor_can_drop_or_multiply_frames() -> None:
    received: list[Frame] = []
    pipeline = Pipeline([DropDigits(), Twice()], sink=received.append)
    pipeline.push(DTMFFrame("5"))
    pipeline.push(EndFrame("done"))
    assert received == [EndFrame("done"), EndFrame("done")]


def test_frames_pushed_from_inside_the_chain_go_only_downstream() -> None:
    journal: list[tuple[str, Frame]] = []
    received: list[Frame] = []
    middle = Recorder("b", journal)
    Pipeline([Recorder("a", journal), middle, Recorder("c", journal)], sink=received.append)
    middle.push(EndFrame())  # e.g. an engine emitting audio from its own task
    assert [name for name, _ in journal] == ["c"]
    assert received == [EndFrame()]


def test_pipeline_without_sink_ends_at_its_last_processor() -> None:
    journal: list[tuple[str, Frame]] = []
    pipeline = Pipeline([Recorder("only", journal)])
    pipeline.push(EndFrame())
    assert journal == [("only", EndFrame())]


def test_empty_pipeline_delivers_straight_to_its_sink() -> None:
    received: list[Frame] = []
    Pipeline([], sink=received.append).push(EndFrame())
    assert received == [EndFrame()]
    Pipeline([]).push(EndFrame())  # no sink: dropped, no error


def test_base_processor_passes_frames_through() -> None:
    received: list[Frame] = []
    pipeline = Pipeline([FrameProcessor(), FrameProcessor()], sink=received.append)
    frame = InputAudioFrame(b"\x01\x00", 8000)
    pipeline.push(frame)
    assert received == [frame] and received[0] is frame


def test_audio_resampler_converts_only_its_frame_class() -> None:
    received: list[Frame] = []
    pipeline = Pipeline([AudioResampler(16000, InputAudioFrame)], sink=received.append)
    caller = InputAudioFrame(_pcm(np.full(160, 1000.0)), 8000)
    agent = OutputAudioFrame(_pcm(np.full(480, 1000.0)), 24000)
    text = TranscriptFrame("agent", "hello")
    for frame in (caller, agent, text):
        pipeline.push(frame)
    resampled, passed_agent, passed_text = received
    assert type(resampled) is InputAudioFrame
    assert resampled.sample_rate == 16000
    assert len(resampled.pcm) == 2 * 320  # 20 ms in, 20 ms out
    assert passed_agent is agent and passed_text is text


def test_audio_resampler_passes_frames_already_at_target_rate() -> None:
    received: list[Frame] = []
    pipeline = Pipeline([AudioResampler(16000)], sink=received.append)
    frame = OutputAudioFrame(_pcm(np.zeros(320)), 16000)
    pipeline.push(frame)
    assert received == [frame] and received[0] is frame


def test_audio_resampler_streams_like_one_resampler_per_source_rate() -> None:
    """Frames from two interleaved sources come out as if each had its own continuous stream."""
    received: list[Frame] = []
    pipeline = Pipeline([AudioResampler(16000, OutputAudioFrame)], sink=received.append)
    rng = np.random.default_rng(1)
    narrow = rng.normal(0, 4000, 8000)  # 1 s at 8 kHz, sent in 20 ms frames
    wide = rng.normal(0, 4000, 24000)  # 1 s at 24 kHz
    for i in range(50):
        pipeline.push(OutputAudioFrame(_pcm(narrow[160 * i : 160 * (i + 1)]), 8000))
        pipeline.push(OutputAudioFrame(_pcm(wide[480 * i : 480 * (i + 1)]), 24000))
    assert all(isinstance(f, OutputAudioFrame) and f.sample_rate == 16000 for f in received)
    audio = [f for f in received if isinstance(f, AudioFrame)]
    from_narrow = b"".join(f.pcm for f in audio[0::2])
    from_wide = b"".join(f.pcm for f in audio[1::2])
    assert from_narrow == StreamResampler(8000, 16000).process(_pcm(narrow))
    assert from_wide == StreamResampler(24000, 16000).process(_pcm(wide))


def test_audio_resampler_holds_a_frame_too_short_for_an_output_sample() -> None:
    received: list[Frame] = []
    pipeline = Pipeline([AudioResampler(8000, InputAudioFrame)], sink=received.append)
    pipeline.push(InputAudioFrame(_pcm(np.zeros(1)), 48000))  # output 0 needs input 0: out
    pipeline.push(InputAudioFrame(_pcm(np.zeros(1)), 48000))  # output 1 needs input 6: held
    assert len(received) == 1
    assert isinstance(received[0], InputAudioFrame) and len(received[0].pcm) == 2
