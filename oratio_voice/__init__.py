"""Oratio Voice: SOPs in, a voice agent on phone, Connect and web out, with live handoff."""

__version__ = "0.1.0"
