"""Real MCP servers the tests start (npm packages pinned in package-lock.json, and FastMCP)."""
