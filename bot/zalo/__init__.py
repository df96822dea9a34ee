"""The Zalo channel: HTTP client (the only httpx user), runner, webhook, digest."""
