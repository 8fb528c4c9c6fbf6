"""Agents: the client seam to an agent runtime, the local SOP responder, the creator."""
