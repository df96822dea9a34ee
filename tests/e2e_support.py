"""Running the real `python -m bot run` process against the Bot API emulator, and citizens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.botapi_emulator import BotApiEmulator, SentMessage

ROOT = Path(__file__).resolve().parent.parent


def write_config(
    folder: Path,
    api: BotApiEmulator,
    *,
    extra: str = "",
    synchronous: str = "FULL",
    questionnaire: str = "sipas-2023",
    secret: str = "end-to-end-test-secret",
) -> Path:
    """A config for the bot on `api`, one agency (ubnd_xa_a), digests from one response."""
    config = folder / "config.toml"
    config.write_text(
        f"""
[telegram]
token = "{api.token}"
base_url = "{api.base_url}"
base_file_url = "{api.base_file_url}"

[storage]
path = "{folder / "sipas.sqlite"}"
synchronous = "{synchronous}"

[survey]
questionnaire = "{questionnaire}"
min_responses = 1

[privacy]
secret = "{secret}"

[[agencies]]
code = "ubnd_xa_a"
name = "UBND xã A"
{extra}
""",
        encoding="utf-8",
    )
    return config


@dataclass
class BotProcess:
    """The bot as an operator runs it: a separate process, stopped or killed like one."""

    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    args: tuple[str, ...] = ()  # more options of `run`, such as --verbose

    def start(self) -> None:
        self.starts += 1
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SIPAS_TELEGRAM_TOKEN", None)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", *self.args, "--config", str(self.config)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, as a service manager would; the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@dataclass
class Citizen:
    """Someone at the counter with the bot open on their phone, pressing what they see."""

    api: BotApiEmulator
    user_id: int
    pressed: dict[str, int] = field(default_factory=dict)

    def newest_with_buttons(self) -> SentMessage | None:
        shown = [m for m in self.api.messages(self.user_id) if m.buttons]
        return shown[-1] if shown else None

    def wait_for_new(self, after: int, timeout: float = 15.0) -> SentMessage:
        return self.api.wait_for_message(
            self.user_id, lambda m: m.message_id > after, timeout=timeout
        )

    def last_id(self) -> int:
        shown = self.api.messages(self.user_id)
        return shown[-1].message_id if shown else 0

    def press(self, message: SentMessage, prefix: str) -> None:
        self.api.press_button(self.user_id, message.message_id, prefix)
