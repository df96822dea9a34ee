"""Chat adapters: the channel-neutral conversation and the Telegram and terminal front ends."""
