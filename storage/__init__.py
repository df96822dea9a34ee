"""Storage: SQLite through aiosqlite, ordered migrations; the only place SQL lives."""
