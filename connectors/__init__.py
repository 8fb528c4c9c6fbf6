"""Connectors: one module per edge (browser, twilio, sip, amazon_connect), wire <-> frames."""
