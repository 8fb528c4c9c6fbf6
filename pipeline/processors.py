"""The hot-path processors a call chains: audio resampling between the wire and the engine."""

from __future__ import annotations

from pipeline.frames import AudioFrame, Frame
from pipeline.processor import FrameProcessor
from pipeline.resampler import StreamResampler


class AudioResampler(FrameProcessor):
    """Resample audio frames of one class (e.g. InputAudioFrame) to `target_rate`; pass the rest.

    One StreamResampler per source rate keeps each stream's filter state, so consecutive frames
    join without clicks. A frame too short to complete an output sample is held, not forwarded.
    """

    __slots__ = ("_resamplers", "frame_type", "target_rate")

    def __init__(self, target_rate: int, frame_type: type[AudioFrame] = AudioFrame) -> None:
        super().__init__()
        self.target_rate = target_rate
        self.frame_type = frame_type
        self._resamplers: dict[int, StreamResampler] = {}

    def process(self, frame: Frame) -> None:
        if not isinstance(frame, self.frame_type) or frame.sample_rate == self.target_rate:
            self.push(frame)
            return
        resampler = self._resamplers.get(frame.sample_rate)
        if resampler is None:
            resampler = StreamResampler(frame.sample_rate, self.target_rate)
            self._resamplers[frame.sample_rate] = resampler
        pcm = resampler.process(frame.pcm)
        if pcm:
            self.push(type(frame)(pcm=pcm, sample_rate=self.target_rate))
