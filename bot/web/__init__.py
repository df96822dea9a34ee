"""The bot's own web server: the citizen survey page, reports, the public page, health, metrics."""
