"""Telegram adapter: updates to the channel-neutral services, replies back."""
