"""The secrets the studio knows by name, with the label the Settings page shows.

They live in the OS keyring (or the workspace's .env, or the environment), never in a settings
file. Plain data with no imports: the secret store reads it before the window's first paint,
when pydantic (core.settings) is not imported yet (tests/reliability/test_useful_screen.py).
"""

from __future__ import annotations

#: The Supabase project's database connection string, password included. Optional: with it a
#: move to Supabase goes over COPY, ≈10× faster than the API; `memory init --supabase --apply`
#: reads it too.
SUPABASE_DB_URL_SECRET = "SUPABASE_DB_URL"

KNOWN_SECRETS: dict[str, str] = {
    "OPENAI_API_KEY": "OpenAI API key",
    "ANTHROPIC_API_KEY": "Anthropic API key",
    "DISCORD_BOT_TOKEN": "Discord bot token",
    "INSTAGRAM_ACCESS_TOKEN": "Instagram access token",
    "FTP_PASSWORD": "FTP password",
    "SUPABASE_SERVICE_KEY": "Supabase service key",
    SUPABASE_DB_URL_SECRET: "Supabase database URL",
    "GITHUB_PERSONAL_ACCESS_TOKEN": "GitHub token (MCP server)",
}
