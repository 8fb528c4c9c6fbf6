"""The management console: the REST + WebSocket API under /api (routers in `console.api`), its
start-up and shutdown (`console.state.console_lifespan`), and the web UI at /console."""
