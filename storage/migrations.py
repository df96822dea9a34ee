"""Schema migrations, applied in order and recorded in the database (`schema_migrations`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage.database import Database


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "citizen survey",
        """
        CREATE TABLE agencies (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            questionnaire TEXT NOT NULL
        );
        -- respondent = HMAC-SHA256(secret, "<channel>:<user id>"): no raw ids are stored.
        CREATE TABLE respondents (
            respondent TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            language TEXT,
            created_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE responses (
            id INTEGER PRIMARY KEY,
            respondent TEXT,
            agency TEXT NOT NULL REFERENCES agencies(code),
            questionnaire TEXT NOT NULL,
            channel TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('in_progress', 'completed', 'cancelled')),
            position INTEGER NOT NULL DEFAULT 0,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            completed_at TEXT,
            day TEXT
        );
        CREATE UNIQUE INDEX responses_one_open ON responses(respondent)
            WHERE status = 'in_progress';
        CREATE INDEX responses_completed ON responses(agency, day) WHERE status = 'completed';
        CREATE INDEX responses_by_respondent ON responses(respondent);
        -- value 1..5, or 0 = not applicable
        CREATE TABLE answers (
            response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            criterion TEXT NOT NULL,
            value INTEGER NOT NULL CHECK (value BETWEEN 0 AND 5),
            PRIMARY KEY (response_id, criterion)
        ) WITHOUT ROWID;
        -- optional steps; value NULL = skipped
        CREATE TABLE extras (
            response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            field TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (response_id, field)
        ) WITHOUT ROWID;
        -- Per-day sufficient statistics of completed responses, kept in the transaction that
        -- completes (or forgets) a response, so index queries never scan raw answers.
        CREATE TABLE daily_responses (
            agency TEXT NOT NULL,
            questionnaire TEXT NOT NULL,
            day TEXT NOT NULL,
            responses INTEGER NOT NULL,
            comments INTEGER NOT NULL,
            PRIMARY KEY (agency, questionnaire, day)
        ) WITHOUT ROWID;
        CREATE TABLE daily_counts (
            agency TEXT NOT NULL,
            questionnaire TEXT NOT NULL,
            day TEXT NOT NULL,
            criterion TEXT NOT NULL,
            value INTEGER NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (agency, questionnaire, day, criterion, value)
        ) WITHOUT ROWID;
        CREATE TABLE daily_pairs (
            agency TEXT NOT NULL,
            questionnaire TEXT NOT NULL,
            day TEXT NOT NULL,
            c1 TEXT NOT NULL,
            c2 TEXT NOT NULL,
            ss INTEGER NOT NULL,
            sv INTEGER NOT NULL,
            vs INTEGER NOT NULL,
            vv INTEGER NOT NULL,
            PRIMARY KEY (agency, questionnaire, day, c1, c2)
        ) WITHOUT ROWID;
        -- One completed response per respondent and agency per window; a separate key so that
        -- /forget can drop the respondent's rows without reopening the window.
        CREATE TABLE resubmit_locks (
            lock TEXT NOT NULL,
            agency TEXT NOT NULL,
            until TEXT NOT NULL,
            PRIMARY KEY (lock, agency)
        ) WITHOUT ROWID;
        CREATE TABLE processed_updates (
            channel TEXT NOT NULL,
            update_id INTEGER NOT NULL,
            processed_at TEXT NOT NULL,
            PRIMARY KEY (channel, update_id)
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        2,
        "officials, invites, digest subscriptions and deliveries",
        """
        -- Officials registered through an invite (those in the config need no row here).
        CREATE TABLE officials (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'official')),
            agencies TEXT NOT NULL,  -- JSON list of agency codes, or ["*"]
            registered_at TEXT NOT NULL,
            invited_by TEXT,
            PRIMARY KEY (channel, user_id)
        ) WITHOUT ROWID;
        CREATE TABLE invites (
            code_hash TEXT PRIMARY KEY,  -- SHA-256 of the code: a database leak yields no codes
            role TEXT NOT NULL CHECK (role IN ('admin', 'official')),
            agencies TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            used_by TEXT
        ) WITHOUT ROWID;
        CREATE TABLE subscriptions (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            language TEXT NOT NULL,
            subscribed_at TEXT NOT NULL,
            PRIMARY KEY (channel, user_id)
        ) WITHOUT ROWID;
        -- One row per official and weekly period once the digest was delivered: exactly once.
        CREATE TABLE digest_deliveries (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            period_start TEXT NOT NULL,
            delivered_at TEXT NOT NULL,
            PRIMARY KEY (channel, user_id, period_start)
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        3,
        "single-use visit tokens",
        """
        -- A visit token's nonce, once used; the respondent may resume with it, nobody else.
        CREATE TABLE visits (
            nonce TEXT PRIMARY KEY,
            agency TEXT NOT NULL,
            respondent TEXT,
            used_at TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        4,
        "monthly rollups of the daily aggregates",
        """
        -- The daily tables summed per calendar month (month = substr(day, 1, 7), 'YYYY-MM'),
        -- kept in the same transaction as the daily rows (storage.rollups): a period reads its
        -- whole months here and only its edge days from the daily tables.
        CREATE TABLE monthly_responses (
            agency TEXT NOT NULL,
            questionnaire TEXT NOT NULL,
            month TEXT NOT NULL,
            responses INTEGER NOT NULL,
            comments INTEGER NOT NULL,
            PRIMARY KEY (agency, questionnaire, month)
        ) WITHOUT ROWID;
        CREATE TABLE monthly_counts (
            agency TEXT NOT NULL,
            questionnaire TEXT NOT NULL,
            month TEXT NOT NULL,
            criterion TEXT NOT NULL,
            value INTEGER NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (agency, questionnaire, month, criterion, value)
        ) WITHOUT ROWID;
        CREATE TABLE monthly_pairs (
            agency TEXT NOT NULL,
            questionnaire TEXT NOT NULL,
            month TEXT NOT NULL,
            c1 TEXT NOT NULL,
            c2 TEXT NOT NULL,
            ss INTEGER NOT NULL,
            sv INTEGER NOT NULL,
            vs INTEGER NOT NULL,
            vv INTEGER NOT NULL,
            PRIMARY KEY (agency, questionnaire, month, c1, c2)
        ) WITHOUT ROWID;
        -- Backfill from the daily rows already stored (the data of every database so far).
        INSERT INTO monthly_responses (agency, questionnaire, month, responses, comments)
            SELECT agency, questionnaire, substr(day, 1, 7), SUM(responses), SUM(comments)
            FROM daily_responses
            GROUP BY agency, questionnaire, substr(day, 1, 7);
        INSERT INTO monthly_counts (agency, questionnaire, month, criterion, value, count)
            SELECT agency, questionnaire, substr(day, 1, 7), criterion, value, SUM(count)
            FROM daily_counts
            GROUP BY agency, questionnaire, substr(day, 1, 7), criterion, value;
        INSERT INTO monthly_pairs (agency, questionnaire, month, c1, c2, ss, sv, vs, vv)
            SELECT agency, questionnaire, substr(day, 1, 7), c1, c2,
                SUM(ss), SUM(sv), SUM(vs), SUM(vv)
            FROM daily_pairs
            GROUP BY agency, questionnaire, substr(day, 1, 7), c1, c2;
        """,
    ),
    Migration(
        5,
        "numbered menus of text-only channels",
        """
        -- What each number means to a respondent on a text-only channel (Zalo): the choices of
        -- the last screen shown, as button payloads. In the database, not in memory, so a
        -- restart or another bot instance reads the same "3".
        -- `delivered` turns 1 as the messages go out (0 again if sending failed), `sent_at` is
        -- the channel's time of the send: a number typed against a menu the person never saw,
        -- or before it reached them, is not taken as an answer.
        CREATE TABLE menus (
            respondent TEXT PRIMARY KEY,
            choices TEXT NOT NULL,
            shown_at TEXT NOT NULL,
            delivered INTEGER NOT NULL DEFAULT 0,
            sent_at REAL
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        6,
        "digest messages already delivered",
        """
        -- How many messages of a period's digest an official already has, so a delivery that
        -- failed half-way continues where it stopped instead of sending the text again.
        CREATE TABLE digest_parts (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            period_start TEXT NOT NULL,
            parts INTEGER NOT NULL,
            PRIMARY KEY (channel, user_id, period_start)
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        7,
        "wrong invite codes per person",
        """
        -- One row per wrong /register code, to cap guessing (a few per person per hour). In the
        -- database, so every bot instance and a restart see the same count. `who` is a keyed
        -- pseudonym of the chat account, never its id; rows older than the window are deleted.
        CREATE TABLE register_failures (
            who TEXT NOT NULL,
            failed_at TEXT NOT NULL
        );
        CREATE INDEX register_failures_by_who ON register_failures(who, failed_at);
        """,
    ),
    Migration(
        8,
        "fingerprints of imported paper forms",
        """
        -- survey.paper.fingerprint of each imported row, so the same sheet imported twice is
        -- noticed; not unique, because two citizens may fill in identical forms.
        CREATE TABLE paper_fingerprints (
            response_id INTEGER PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
            fingerprint TEXT NOT NULL
        );
        CREATE INDEX paper_fingerprints_by_print ON paper_fingerprints(fingerprint);
        """,
    ),
)


async def migrate(database: Database, now: datetime | None = None) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return those applied."""
    await database.execute_script(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in await database.fetch_all("SELECT version FROM schema_migrations")}
    applied = []
    stamp = (now or datetime.now(UTC)).isoformat()
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        async with database.transaction() as connection:
            for statement in _statements(migration.sql):
                await connection.execute(statement)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, stamp),
            )
        applied.append(migration)
    return applied


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
