"""The weekly digest: composition, chart, delivery; scheduled by bot.jobs."""
