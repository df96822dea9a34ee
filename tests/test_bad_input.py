"""Bad input, property-based: whatever arrives, no exception escapes and nothing wrong is stored.

Chat input goes through the real PTB Application in process (`feed`), faked only at the
network by `tests.soak.TelegramRules`, which refuses with Telegram's 400 what Telegram would
refuse (so a reply Telegram would reject shows up as an error, not a silent pass). In every
example a *victim* citizen has answered statement 1 and an *attacker* citizen, mid-survey,
sends a random sequence of inputs of one class, mixed with real button presses:

- no error reaches the error handlers, nothing is logged at ERROR;
- every private message gets at least one reply, every button press exactly one callback
  answer; group chats, channel posts, edited messages, membership and inline updates are
  ignored by design (no reply, nothing stored);
- every stored answer or optional-step value of the attacker is one that a button payload they
  sent names exactly (response, step, value); the victim's answers and step are untouched;
- no phone number, name or username from the input lands in the database.

Also property-based: malformed import files (`import-responses` refuses them with exit code 1,
a message naming a line, and stores nothing), configs (`load_settings` raises `ConfigError`
naming the file and a key, never another exception) and questionnaires (`parse_questionnaire`
raises `QuestionnaireError`, never another exception). Fast by default; SIPAS_SOAK=1 runs ten
times the examples. Hypothesis is derandomized: every run tries the same cases.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import math
import sqlite3
import subprocess
import sys
import tempfile
import tomllib
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import AgencyEntry, ConfigError, Settings, TelegramSection, load_settings
from bot.files.importing import import_responses
from bot.files.sheets import SheetError, read_sheet
from bot.telegram_app import build_application, on_shutdown, on_startup
from handlers.replies import pseudonym
from survey import actions
from survey.answers import read_scale_answer
from survey.catalogue import QuestionnaireError, parse_questionnaire
from survey.flow import steps, value_is_na
from survey.paper_cells import parse_answer, parse_submitted_at, scale_labels
from tests.soak import CATALOGUE, sized
from tests.telegram_fakes import BOT_USER, TelegramRules, buttons_of, feed

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sized(10, 150)
SEEN: Counter[str] = Counter()  # cases run per class, printed at the end (pytest -s)


def hypo(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module", autouse=True)
def report_cases() -> Iterator[None]:
    yield
    print("\nbad-input cases run per class:", dict(sorted(SEEN.items())))


# ============================================================================ chat input

VICTIM, ATTACKER = 6_100_000_001, 6_100_000_002
GROUP, CHANNEL = -6_100_000_003, -1_006_100_000_004
NAME, USERNAME, PHONE = "Thị Mẫu Zyxwv", "zyxwv_mau_1977", "+84 912 345 678"
SIPAS = CATALOGUE["sipas-2023"]
POSITION = {step.key: index for index, step in enumerate(steps(SIPAS))}
AGENCY = "ubnd_xa_a"
_ids = iter(range(700_000_000, 800_000_000))


def person(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": NAME,
        "username": USERNAME,
        "language_code": "vi",
    }


def private(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": NAME, "username": USERNAME}


def message(chat: dict[str, Any], sender: dict[str, Any] | None, **content: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": next(_ids), "date": 1_790_000_000, "chat": chat}
    if sender is not None:
        body["from"] = sender
    text = content.get("text")
    if isinstance(text, str) and text.startswith("/"):
        length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2 if text.strip() else 1
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": max(1, length)}]
    body.update(content)
    return body


def update(**payload: Any) -> dict[str, Any]:
    return {"update_id": next(_ids), **payload}


def callback(user_id: int, data: str, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    return update(
        callback_query={
            "id": str(next(_ids)),
            "from": person(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": message(chat or private(user_id), BOT_USER, text="…"),
        }
    )


@dataclass
class Lab:
    """One bot with a fresh database, a victim mid-survey and an attacker mid-survey."""

    folder: Path
    request: TelegramRules = field(default_factory=TelegramRules)
    errors: list[BaseException] = field(default_factory=list)
    logged: list[logging.LogRecord] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)  # every callback data the attacker sent
    app: Any = None

    @property
    def database(self) -> Path:
        return self.folder / "sipas.sqlite"

    async def __aenter__(self) -> Lab:
        base = Settings(
            telegram=TelegramSection(token="123:TEST"),  # type: ignore[arg-type]
            agencies=(
                AgencyEntry(code=AGENCY, name="UBND xã A"),
                AgencyEntry(code="so_tu_phap", name="Sở Tư pháp"),
            ),
        )
        storage = base.storage.model_copy(update={"path": self.database})
        app = build_application(
            base.model_copy(update={"storage": storage}), request=self.request, rate_limiter=False
        )

        async def record(update: object, context: Any) -> None:
            self.errors.append(context.error)

        app.add_error_handler(record)
        await app.initialize()
        await on_startup(app)
        self.app = app
        await self.feed(update(message=message(private(VICTIM), person(VICTIM), text="/start")))
        await self.press_first(VICTIM)  # the agency
        await self.press_first(VICTIM)  # consent
        await self.press_label(VICTIM, "3")
        await self.feed(
            update(message=message(private(ATTACKER), person(ATTACKER), text="/start"))
        )
        await self.press_first(ATTACKER, record=True)
        await self.press_first(ATTACKER, record=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await on_shutdown(self.app)
        await self.app.shutdown()

    async def feed(self, data: dict[str, Any]) -> None:
        await feed(self.app, data)

    def buttons(self, user_id: int) -> list[tuple[str, str]]:
        for call in reversed(self.request.to_chat(user_id)):
            found = buttons_of(call.params.get("reply_markup"))
            if found:
                return found
        return []

    async def press(self, user_id: int, data: str, *, record: bool = False) -> None:
        if record:
            self.payloads.append(data)
        await self.feed(callback(user_id, data))

    async def press_first(self, user_id: int, *, record: bool = False) -> None:
        await self.press(user_id, self.buttons(user_id)[0][1], record=record)

    async def press_label(self, user_id: int, prefix: str) -> None:
        data = next(d for label, d in self.buttons(user_id) if label.startswith(prefix))
        await self.press(user_id, data)

    def response_ids(self) -> dict[str, list[int]]:
        with sqlite3.connect(self.database) as db:
            rows = db.execute("SELECT respondent, id FROM responses ORDER BY id").fetchall()
        found: dict[str, list[int]] = {}
        for respondent, response_id in rows:
            found.setdefault(respondent, []).append(response_id)
        return found


def secret_of(lab: Lab) -> str:
    return str(lab.app.bot_data["services"].secret)


def rows(lab: Lab, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(lab.database) as db:
        return db.execute(sql).fetchall()


# -- what an attacker sends


def not_an_answer(text: str) -> bool:
    """Text the survey must not take as an answer, consent or choice (those are valid)."""
    word = " ".join(text.split()).casefold()
    return (
        read_scale_answer(text) is None
        and not value_is_na(text)
        and word not in {"đồng ý", "dong y", "agree", "yes", "có", "co", "không", "khong", "no"}
        and word not in {"decline"}
        and text.strip().casefold() not in {AGENCY, "so_tu_phap"}
    )


PLAIN = st.text(min_size=1, max_size=300).filter(not_an_answer)
LONG = st.text(
    alphabet=st.sampled_from("aăâbcdđeêghiklmnoôơpqrstuưvxy 0123456789.,!?\n"),
    min_size=3500,
    max_size=4096,
).filter(not_an_answer)
EMOJI = (
    st.lists(
        st.one_of(
            st.characters(categories=["So", "Sk", "Mn"]),
            st.sampled_from(["🙂", "👍🏽", "5️⃣", "❤️", "🇻🇳", "\u20e3", "\ufe0f", "👨‍👩‍👧"]),
        ),
        min_size=1,
        max_size=40,
    )
    .map("".join)
    .filter(not_an_answer)
)
CONTROL = st.text(
    alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), min_size=1, max_size=60
).filter(not_an_answer)

KNOWN = ["start", "cancel", "help", "lang", "forget", "score", "chiso", "ranking", "criteria"]
KNOWN += ["export", "xuat", "subscribe", "unsubscribe", "invite", "register", "digest", "bantin"]
ARGS = st.one_of(
    st.just(""), st.text(max_size=80), st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
)
COMMANDS = st.one_of(
    st.builds(
        lambda name, args: f"/{name} {args}".rstrip(),
        st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True).filter(lambda n: n not in KNOWN),
        ARGS,
    ),
    st.builds(lambda name, args: f"/{name} {args}".rstrip(), st.sampled_from(KNOWN), ARGS),
    st.builds(lambda payload: f"/start {payload}", st.text(min_size=1, max_size=4000)),
    st.builds(lambda n: "/start " + "x" * n, st.integers(65, 4000)),
    st.sampled_from(["/start@sipas_test_bot ubnd_xa_a", "/start@other_bot", "/", "/ start"]),
)

RID = st.one_of(st.sampled_from(["own", "victim"]), st.integers(0, 36**12 - 1))
POS = st.one_of(st.integers(0, 30), st.integers(0, 9999))
VALUES = ["1", "2", "3", "4", "5", "6", "0", "na", "yes", "no", "skip", "male", "female"]
VALUE = st.one_of(st.sampled_from(VALUES), st.from_regex(r"[a-z0-9_]{1,16}", fullmatch=True))
FORGED = st.one_of(
    st.tuples(st.just("a"), RID, POS, VALUE),
    st.tuples(st.just("b"), RID, POS),
    st.tuples(st.just("r"), RID, st.sampled_from(["c", "r", "x"])),
    st.tuples(st.just("g"), st.one_of(st.just(AGENCY), st.from_regex(r"[A-Za-z0-9_-]{1,40}"))),
    st.tuples(st.just("p"), st.integers(-5, 99999)),
    st.tuples(st.just("f"), st.sampled_from(["y", "n", "x"])),
    st.tuples(st.just("l"), st.sampled_from(["vi", "en", "fr", ""])),
)
RANDOM_DATA = st.text(min_size=1, max_size=64).filter(lambda s: len(s.encode()) <= 64)


def media(kind: str, seed: int) -> dict[str, Any]:
    file = {"file_id": f"F{seed}", "file_unique_id": f"U{seed}"}
    match kind:
        case "sticker":
            return {"sticker": {**file, "width": 512, "height": 512, "type": "regular",
                                "is_animated": False, "is_video": False}}  # fmt: skip
        case "photo":
            return {"photo": [{**file, "width": 90, "height": 90}], "caption": "ảnh " * (seed % 3)}
        case "document":
            return {"document": {**file, "file_name": f"giay_to_{seed}.pdf"}}
        case "voice":
            return {"voice": {**file, "duration": seed % 60}}
        case "video_note":
            return {"video_note": {**file, "length": 240, "duration": 3}}
        case "location":
            return {"location": {"latitude": 22.66 + seed % 7, "longitude": 106.25}}
        case "venue":
            return {"venue": {"location": {"latitude": 22.6, "longitude": 106.2},
                              "title": "UBND", "address": "Cao Bằng"}}  # fmt: skip
        case "contact":
            return {"contact": {"phone_number": PHONE, "first_name": NAME, "user_id": ATTACKER}}
        case "dice":
            return {"dice": {"emoji": "🎲", "value": 1 + seed % 6}}
    raise AssertionError(kind)


MEDIA = ["sticker", "photo", "document", "voice", "video_note", "location", "venue", "contact"]
MEDIA += ["dice"]
ELSEWHERE = ["group_text", "group_command", "channel_post", "edited_message"]
ELSEWHERE += ["edited_channel_post", "my_chat_member", "inline_query", "group_press"]

Action = tuple[str, Any]
ACTIONS: dict[str, st.SearchStrategy[Action]] = {
    "text": st.tuples(st.just("text"), PLAIN),
    "long_text": st.tuples(st.just("long_text"), LONG),
    "emoji": st.tuples(st.just("emoji"), EMOJI),
    "control_chars": st.tuples(st.just("control_chars"), CONTROL),
    "command": st.tuples(st.just("command"), COMMANDS),
    "forged_callback": st.tuples(st.just("forged_callback"), FORGED),
    "random_callback": st.tuples(st.just("random_callback"), RANDOM_DATA),
    "media": st.tuples(st.just("media"), st.tuples(st.sampled_from(MEDIA), st.integers(0, 99))),
    "elsewhere": st.tuples(st.just("elsewhere"), st.tuples(st.sampled_from(ELSEWHERE), PLAIN)),
}
VALID = st.tuples(st.just("valid_press"), st.integers(0, 7))


def base36(number: int) -> str:
    """Response ids as button payloads carry them."""
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def encode(lab: Lab, forged: tuple[Any, ...]) -> str:
    kind, *rest = forged
    ids = lab.response_ids()
    if kind in ("a", "b", "r"):
        rid = rest[0]
        if rid == "own":
            rid = ids.get(pseudonym(secret_of(lab), "telegram", ATTACKER), [0])[-1]
        elif rid == "victim":
            rid = ids[pseudonym(secret_of(lab), "telegram", VICTIM)][-1]
        rest = [base36(rid), *rest[1:]]
    return "|".join(["1", kind, *map(str, rest)])


async def act(lab: Lab, action: Action) -> str:
    """Send one input from the attacker; returns what is expected: "reply", "answer", "none"."""
    kind, value = action
    SEEN[kind if kind != "elsewhere" and kind != "media" else f"{kind}:{value[0]}"] += 1
    me, chat = person(ATTACKER), private(ATTACKER)
    if kind in ("text", "long_text", "emoji", "control_chars", "command"):
        await lab.feed(update(message=message(chat, me, text=value)))
        return "reply"
    if kind == "forged_callback":
        await lab.press(ATTACKER, encode(lab, value), record=True)
        return "answer"
    if kind == "random_callback":
        await lab.press(ATTACKER, value, record=True)
        return "answer"
    if kind == "valid_press":
        buttons = lab.buttons(ATTACKER)
        if not buttons:
            return "skip"
        await lab.press(ATTACKER, buttons[value % len(buttons)][1], record=True)
        return "answer"
    if kind == "media":
        await lab.feed(update(message=message(chat, me, **media(*value))))
        return "reply"
    where, text = value
    group = {"id": GROUP, "type": "group", "title": "Nhóm cán bộ"}
    channel = {"id": CHANNEL, "type": "channel", "title": "Kênh"}
    match where:
        case "group_text":
            await lab.feed(update(message=message(group, me, text=text)))
        case "group_command":
            await lab.feed(update(message=message(group, me, text=f"/start {AGENCY}")))
        case "channel_post":
            await lab.feed(update(channel_post=message(channel, None, text=text)))
        case "edited_message":
            await lab.feed(update(edited_message=message(chat, me, text="5", edit_date=1)))
            return "reply"  # edits are not read, and the citizen is told so
        case "edited_channel_post":
            await lab.feed(update(edited_channel_post=message(channel, None, text=text)))
        case "my_chat_member":
            bot = {"user": BOT_USER, "status": "member"}
            kicked = {"user": BOT_USER, "status": "kicked", "until_date": 0}
            member = {"chat": chat, "from": me, "date": 1, "old_chat_member": bot}
            await lab.feed(update(my_chat_member={**member, "new_chat_member": kicked}))
        case "inline_query":
            query = {"id": "1", "from": me, "query": text[:256], "offset": ""}
            await lab.feed(update(inline_query=query))
        case "group_press":
            data = lab.buttons(ATTACKER)[0][1] if lab.buttons(ATTACKER) else "1|p|0"
            lab.payloads.append(data)
            await lab.feed(callback(ATTACKER, data, chat=group))
            return "answer_only"
    return "none"


async def run_attack(plan: list[Action]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        capture = _Capture()
        logging.getLogger().addHandler(capture)
        try:
            async with Lab(Path(folder)) as lab:
                victim_before = victim_state(lab)
                for action in plan:
                    since = len(lab.request.calls)
                    expected = await act(lab, action)
                    check_reply(lab, action, expected, since)
                assert lab.errors == [], lab.errors
                assert lab.request.refused == []
                assert victim_state(lab) == victim_before
                check_stored(lab)
                assert_no_identity_stored(lab.database)
        finally:
            logging.getLogger().removeHandler(capture)
        assert [r.getMessage() for r in capture.records] == []


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def check_reply(lab: Lab, action: Action, expected: str, since: int) -> None:
    new = lab.request.calls[since:]
    answers = [c for c in new if c.method == "answerCallbackQuery"]
    to_attacker = lab.request.to_chat(ATTACKER, since)
    elsewhere = [
        c for c in new if c.method.startswith("send") and c.params.get("chat_id") != ATTACKER
    ]
    assert elsewhere == [], (action, elsewhere)
    if expected == "reply":
        assert to_attacker, f"no reply to {action!r}"
        assert all(str(c.params.get("text", "x")).strip() for c in to_attacker)
        assert answers == []
    elif expected == "answer":
        assert len(answers) == 1, (action, [c.method for c in new])
        # a refusal must say so; an accepted press shows the next screen or an edit
        shown = (
            answers[0].params.get("text")
            or to_attacker
            or any(c.method == "editMessageText" for c in new)
        )
        assert shown, f"the press {action!r} got a silent answer and nothing else"
    elif expected == "answer_only":
        assert len(answers) == 1, (action, [c.method for c in new])
    elif expected == "none":
        assert new == [], (action, [c.method for c in new])


def victim_state(lab: Lab) -> tuple[Any, ...]:
    key = pseudonym(secret_of(lab), "telegram", VICTIM)
    head = rows(lab, f"SELECT id, position, status FROM responses WHERE respondent = '{key}'")
    answers = rows(
        lab,
        "SELECT a.criterion, a.value FROM answers a JOIN responses r ON r.id = a.response_id "
        f"WHERE r.respondent = '{key}' ORDER BY 1",
    )
    assert answers == [("access_1", 3)]
    return tuple(head), tuple(answers)


def check_stored(lab: Lab) -> None:
    """Every stored attacker value is named exactly by a payload the attacker sent."""
    key = pseudonym(secret_of(lab), "telegram", ATTACKER)
    sent = {actions.decode(p) for p in lab.payloads}
    owners = dict(rows(lab, "SELECT id, respondent FROM responses"))
    respondents = {r for (r,) in rows(lab, "SELECT respondent FROM respondents")}
    victim = pseudonym(secret_of(lab), "telegram", VICTIM)
    assert set(owners.values()) <= {key, victim}
    assert respondents <= {key, victim}
    for response_id, criterion, value in rows(lab, "SELECT * FROM answers"):
        if owners[response_id] != key:
            continue
        named = "na" if value == 0 else str(value)
        assert actions.Answer(response_id, POSITION[criterion], named) in sent, (
            criterion,
            value,
        )
    for response_id, name, value in rows(lab, "SELECT response_id, field, value FROM extras"):
        if owners[response_id] == key:
            named = "skip" if value is None else str(value)
            assert actions.Answer(response_id, POSITION[name], named) in sent, (name, value)


def assert_no_identity_stored(database: Path) -> None:
    raw = database.read_bytes()
    wal = database.with_name(database.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    for needle in (NAME, USERNAME, PHONE, str(ATTACKER), str(VICTIM)):
        assert needle.encode() not in raw, needle


def plans(kind: str) -> st.SearchStrategy[list[Action]]:
    return st.lists(st.one_of(ACTIONS[kind], VALID), min_size=1, max_size=6)


@pytest.mark.parametrize("kind", sorted(ACTIONS))
def test_chat_input_of_every_class_is_handled(kind: str) -> None:
    @hypo(EXAMPLES)
    @given(plan=plans(kind))
    def check(plan: list[Action]) -> None:
        asyncio.run(run_attack(plan))

    check()


@hypo(sized(15, 300))
@given(plan=st.lists(st.one_of(*ACTIONS.values(), VALID), min_size=2, max_size=10))
def test_mixed_chat_input_is_handled(plan: list[Action]) -> None:
    asyncio.run(run_attack(plan))


# ============================================================================ import files

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
CRITERIA = list(SIPAS.criterion_ids)
HEADER = ["submitted_at", "agency", *CRITERIA, "sex", "age_group", "comment"]


@pytest.fixture(scope="module")
def import_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("imports")
    base = Settings(agencies=(AgencyEntry(code=AGENCY, name="UBND xã A"),))
    storage = base.storage.model_copy(update={"path": folder / "sipas.sqlite"})
    return base.model_copy(update={"storage": storage})


def stored_responses(settings: Settings) -> int:
    if not Path(settings.storage.path).exists():
        return 0
    with sqlite3.connect(settings.storage.path) as db:
        return int(db.execute("SELECT count(*) FROM responses").fetchone()[0])


def good_row(n: int) -> list[str]:
    answers = [str(1 + (n + i) % 5) for i in range(len(CRITERIA))]
    return [f"2026-10-{1 + n % 28:02d}", AGENCY, *answers, "", "", ""]


def bad_scale(text: str) -> bool:
    try:
        parse_answer(text, scale_labels(SIPAS))
    except ValueError:
        return True
    return False


SEX_OPTIONS = {
    unicodedata.normalize("NFC", text).strip().casefold()
    for step in SIPAS.optional
    if step.id == "sex"
    for option in step.options
    for text in (option.id, option.text.vi, option.text.en)
}


def bad_sex(text: str) -> bool:
    return bool(text.strip()) and unicodedata.normalize("NFC", text).strip().casefold() not in (
        SEX_OPTIONS
    )


def bad_date(text: str) -> bool:
    try:
        zone = ZoneInfo("Asia/Ho_Chi_Minh")  # the default [bot] timezone, as the import reads
        return parse_submitted_at(text, zone) > NOW.astimezone(zone).replace(tzinfo=None)
    except ValueError:
        return True


BAD_CELL = st.one_of(
    st.tuples(st.sampled_from(CRITERIA), st.text(max_size=12).filter(bad_scale)),
    st.tuples(st.just("submitted_at"), st.text(max_size=25).filter(bad_date)),
    st.tuples(st.just("agency"), st.text(max_size=20).filter(lambda t: t.strip() != AGENCY)),
    st.tuples(st.just("sex"), st.text(min_size=1, max_size=20).filter(bad_sex)),
)


def run_import(settings: Settings, folder: Path, name: str, content: bytes) -> tuple[int, str]:
    path = folder / name
    path.write_bytes(content)
    return asyncio.run(import_responses(settings, path, NOW))


@hypo(sized(15, 150))
@given(text=st.text(max_size=2000))
def test_random_csv_text_is_refused_naming_a_line(import_settings: Settings, text: str) -> None:
    SEEN["import:random_text"] += 1
    with tempfile.TemporaryDirectory() as folder:
        code, message = run_import(import_settings, Path(folder), "forms.csv", text.encode())
    assert code == 1
    assert "line " in message, message
    assert stored_responses(import_settings) == 0


@hypo(sized(15, 150))
@given(
    good=st.integers(0, 6),
    bad=st.lists(st.tuples(st.integers(0, 10), BAD_CELL), min_size=1, max_size=4),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_a_sheet_with_bad_rows_is_refused_whole_naming_them(
    import_settings: Settings, good: int, bad: list[tuple[int, tuple[str, str]]], delimiter: str
) -> None:
    SEEN["import:bad_rows"] += 1
    table = [good_row(n) for n in range(good + 1)]
    broken: set[int] = set()
    for where, (column, cell) in bad:
        row = where % len(table)
        table[row][HEADER.index(column)] = cell
        broken.add(row + 2)  # line 1 is the header
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([HEADER, *table])
    with tempfile.TemporaryDirectory() as folder:
        code, message = run_import(
            import_settings, Path(folder), "forms.csv", out.getvalue().encode()
        )
    assert code == 1
    assert any(f"line {line}" in message for line in broken), message
    assert stored_responses(import_settings) == 0


@hypo(sized(10, 100))
@given(content=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_random_bytes_are_refused_naming_the_file(
    import_settings: Settings, content: bytes, suffix: str
) -> None:
    SEEN[f"import:random_bytes{suffix}"] += 1
    with tempfile.TemporaryDirectory() as folder:
        code, message = run_import(import_settings, Path(folder), f"forms{suffix}", content)
        assert code == 1
        assert f"forms{suffix}" in message
    assert stored_responses(import_settings) == 0


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_corrupt_xlsx_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "forms.xlsx"
    path.write_bytes(_zip({"[Content_Types].xml": b"not xml"}))
    with pytest.raises(SheetError, match=r"forms\.xlsx"):
        read_sheet(path)


def test_a_huge_csv_cell_is_refused_naming_its_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[storage]\npath = "sipas.sqlite"\n\n[privacy]\nsecret = "a-test-secret-long-enough"\n\n'
        f'[[agencies]]\ncode = "{AGENCY}"\nname = "UBND xã A"\n',
        encoding="utf-8",
    )
    rows_ = [HEADER, good_row(0), [*good_row(1)[:-1], "x" * 140_000]]
    out = io.StringIO()
    csv.writer(out).writerows(rows_)
    sheet = tmp_path / "forms.csv"
    sheet.write_text(out.getvalue(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import-responses", str(sheet), "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-800:]
    assert "line 3" in done.stderr


# ============================================================================ configs

SCHEMA: dict[str, list[str]] = {
    "bot": ["default_language", "timezone"],
    "telegram": ["token", "base_url", "base_file_url", "mode", "webhook_url", "listen", "port"],
    "storage": ["path", "synchronous"],
    "survey": ["questionnaire", "min_responses", "resubmit_after_hours", "element_weights"],
    "privacy": ["secret", "retention_days"],
    "digest": ["cron", "alert_below"],
}
SCALARS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.booleans(),
    st.dates(),
    st.sampled_from(["vi", "en", "FULL", "NORMAL", "polling", "webhook", "0 8 * * mon", "*"]),
)
VALUES_ = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but DEL must be escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A TOML inline value (tomllib reads it back as `value`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(value)


def toml_document(
    tables: dict[str, dict[str, Any]], arrays: dict[str, list[dict[str, Any]]]
) -> str:
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    for name, items in arrays.items():
        for item in items:
            lines.append(f"[[{name}]]")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def check_config_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(text, encoding="utf-8")
        refusal: ConfigError | None = None
        try:
            load_settings(path, environ={})
        except ConfigError as error:
            refusal = error
        if refusal is not None:
            assert refusal.path == str(path)
            assert refusal.key
            assert str(refusal).startswith(f"{path}: {refusal.key}: ")


TOMLISH = st.lists(
    st.one_of(
        st.text(max_size=60),
        st.builds(lambda s: f"[{s}]", st.sampled_from([*SCHEMA, "agencies", "x", ""])),
        st.builds(lambda s: f"[[{s}]]", st.sampled_from(["agencies", "officials", "bot"])),
        st.builds(
            lambda k, v: f"{k} = {v}",
            st.sampled_from([k for keys in SCHEMA.values() for k in keys] + ["code", "name"]),
            st.text(max_size=30),
        ),
    ),
    max_size=12,
).map("\n".join)


@hypo(sized(60, 600))
@given(text=TOMLISH)
def test_random_tomlish_config_raises_config_error_only(text: str) -> None:
    SEEN["config:tomlish_text"] += 1
    check_config_text(text)


@hypo(sized(80, 800))
@given(data=st.data())
def test_random_values_for_known_keys_raise_config_error_only(data: st.DataObject) -> None:
    SEEN["config:random_values"] += 1
    tables: dict[str, dict[str, Any]] = {}
    for section in data.draw(st.lists(st.sampled_from(sorted(SCHEMA)), max_size=4, unique=True)):
        keys = data.draw(st.lists(st.sampled_from(SCHEMA[section]), min_size=1, unique=True))
        tables[section] = {key: data.draw(VALUES_) for key in keys}
    arrays: dict[str, list[dict[str, Any]]] = {}
    if data.draw(st.booleans()):
        arrays["agencies"] = data.draw(
            st.lists(
                st.fixed_dictionaries(
                    {"code": st.one_of(st.just("ubnd_xa_a"), VALUES_)},
                    optional={"name": VALUES_, "questionnaire": VALUES_},
                ),
                max_size=3,
            )
        )
    if data.draw(st.booleans()):
        arrays["officials"] = data.draw(
            st.lists(
                st.fixed_dictionaries(
                    {"telegram_id": VALUES_}, optional={"role": VALUES_, "agencies": VALUES_}
                ),
                max_size=2,
            )
        )
    check_config_text(toml_document(tables, arrays))


@pytest.mark.parametrize("weight", ["nan", "inf"])
def test_a_weight_that_is_not_a_finite_number_is_refused(tmp_path: Path, weight: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[survey]\nelement_weights = {{ access = {weight} }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="element_weights"):
        load_settings(path, environ={})


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[storage]\npath = "data/a\\u0000b.sqlite"\n', "storage.path"),
        ('[survey]\nquestionnaire_files = ["q\\u0000.toml"]\n', "survey.questionnaire_files"),
    ],
)
def test_a_path_with_a_nul_byte_is_refused_by_the_config(
    tmp_path: Path, text: str, key: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ={})
    assert refused.value.key.startswith(key)


# ============================================================================ questionnaires


def _builtin(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "survey" / "questionnaires" / f"{name}.toml").read_text("utf-8"))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _top_level(document: dict[str, Any]) -> str:
    return "\n".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in document.items()) + "\n"


def check_questionnaire(text: str) -> None:
    refusal: QuestionnaireError | None = None
    try:
        parse_questionnaire(text, "fuzz.toml")
    except QuestionnaireError as error:
        refusal = error
    if refusal is not None:
        assert str(refusal).startswith("fuzz.toml: ")
        assert refusal.field


@hypo(sized(60, 600))
@given(text=st.text(max_size=400))
def test_random_questionnaire_text_raises_questionnaire_error_only(text: str) -> None:
    SEEN["questionnaire:random_text"] += 1
    check_questionnaire(text)


@hypo(sized(80, 800))
@given(data=st.data(), name=st.sampled_from(["sipas-2023", "counter-5", "sipas-2017"]))
def test_a_mutated_builtin_questionnaire_raises_questionnaire_error_only(
    data: st.DataObject, name: str
) -> None:
    SEEN["questionnaire:mutated"] += 1
    document = _builtin(name)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(VALUES_)
    check_questionnaire(_top_level(document))
