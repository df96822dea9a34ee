"""The Zalo Official Account channel (OA Open API v3): client, tokens, webhook, runner."""
