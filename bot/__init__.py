"""Composition root: configuration, command line, application wiring, scheduled jobs."""
