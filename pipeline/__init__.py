"""Pipecat-style audio pipeline: frames, processors, audio DSP and speech engines."""
