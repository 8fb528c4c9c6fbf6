"""HTTP and WebSocket routes of the voice runtime (the console's live in console/)."""
