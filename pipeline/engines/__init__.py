"""Speech engines: the seam between a call's audio and a speech-to-speech model."""
