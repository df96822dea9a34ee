"""The officials' side on Telegram through the real PTB Application, faked only at the network.

Responses are seeded as paper forms (fast, exact values) into a real SQLite file; one test also
completes a survey through the citizen flow. Time comes from an injected clock.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import logging
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from telegram.request import RequestData

import bot.files.export
from bot.config import (
    OfficialEntry,
    Settings,
)
from bot.questionnaires import load_catalogue
from bot.telegram_app import build_application, on_shutdown, on_startup, services_of
from storage.imports import store_paper_responses
from survey.access import within_scope
from survey.flow import steps
from survey.paper import PaperResponse
from survey.texts import say
from tests.postgres_support import query_rows, stored_bytes
from tests.settings_support import make_settings
from tests.telegram_fakes import (
    RecordingRequest,
    feed,
    press_update,
    started_bot,
    text_update,
    user,
)

ADMIN = 1001
OFFICIAL_A = 1002
STRANGER = 1003
OTHER_STRANGER = 1004
LIMITED_ADMIN = 1005  # an admin of agency A only
CITIZEN = 7306119245
CITIZEN_NAME = "Zebediah Quỳnh"
CITIZEN_USERNAME = "zebediah_q_77"

A, B, SMALL = "ubnd_xa_a", "so_tu_phap", "xa_it"
SIPAS = load_catalogue()["sipas-2023"]
CRITERIA = SIPAS.criterion_ids
INVITE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}")
DECIMAL = re.compile(r"\d+[.,]\d\d")

# Every official command and its Vietnamese alias (/register is open to everyone).
OFFICIAL_COMMANDS = [
    "score",
    "chiso",
    "ranking",
    "xephang",
    "criteria",
    "tieuchi",
    "export",
    "xuat",
    "subscribe",
    "theodoi",
    "unsubscribe",
    "huytheodoi",
    "invite",
    "moi",
]


def uniform(value: int, **overrides: int) -> dict[str, int | None]:
    answers: dict[str, int | None] = dict.fromkeys(CRITERIA, value)
    answers.update(overrides)
    return answers


def form(agency: str, day: int, answers: dict[str, int | None]) -> PaperResponse:
    return PaperResponse(
        line=day + 1,
        agency=agency,
        questionnaire=SIPAS.id,
        position=len(steps(SIPAS)),
        submitted_at=datetime(2026, 10, day, 9, 0),
        answers=answers,
        extras={},
    )


# Agency A: access_1 1/3 satisfied, access_2 and civil_servants_1 2/3, the rest 3/3, so
# access = 75, civil servants = 93.33, the other elements 100 and SIPAS = 93.67.
# Agency B: 4 of 5 citizens satisfied with everything: 80. SMALL: one response, suppressed.
SEED = [
    form(A, 1, uniform(5)),
    form(A, 2, uniform(4, access_1=1, civil_servants_1=3)),
    form(A, 3, uniform(5, access_1=2, access_2=3)),
    *[form(B, day, uniform(5)) for day in (4, 5, 6, 7)],
    form(B, 8, uniform(1)),
    form(SMALL, 9, uniform(5)),
]
A_SIPAS, B_SIPAS = "93,67%", "80,00%"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 10, 20, 3, 0, tzinfo=UTC)  # 10:00 in Hanoi

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FileRecordingRequest(RecordingRequest):
    """A `RecordingRequest` that also keeps the uploaded files' bytes (chat id, name, bytes)."""

    documents: list[tuple[int, str, bytes]] = field(default_factory=list)
    watch: Path | None = None  # a folder whose files are listed at each upload
    seen: list[str] = field(default_factory=list)

    async def intercept(
        self, name: str, params: dict[str, Any], request_data: RequestData | None
    ) -> tuple[int, bytes] | None:
        if request_data is not None:
            chat_id = int(request_data.parameters.get("chat_id", 0))  # type: ignore[arg-type]
            for filename, content, *_ in request_data.multipart_data.values():
                data = content if isinstance(content, bytes) else content.read()
                self.documents.append((chat_id, filename or "", data))
                if self.watch is not None:
                    self.seen += [path.name for path in self.watch.rglob("*")]
        return await super().intercept(name, params, request_data)


@dataclass
class Chat:
    """The bot with a few people talking to it; `send` returns what the bot said back."""

    app: Any
    request: FileRecordingRequest
    settings: Settings
    clock: Clock
    temp: Path

    async def send(self, user_id: int, text: str, **extra: Any) -> str:
        before = len(self.request.calls)
        await feed(self.app, text_update(user_id, text, **extra))
        said = [
            str(call.params.get("text") or call.params.get("caption") or "")
            for call in self.request.calls[before:]
            if call.method in ("sendMessage", "sendDocument")
            and int(call.params.get("chat_id", 0)) == user_id
        ]
        return "\n".join(said)

    def documents_to(self, user_id: int) -> list[tuple[str, bytes]]:
        return [(name, data) for chat, name, data in self.request.documents if chat == user_id]

    def count(self, table: str) -> int:
        return int(query_rows(self.settings.storage, f"SELECT count(*) FROM {table}")[0][0])

    def stored_bytes(self) -> bytes:
        return stored_bytes(self.settings.storage)


@pytest.fixture
def settings(tmp_path: Path, database_target: Path | str) -> Settings:
    return make_settings(
        tmp_path,
        target=database_target,
        telegram_token="123:TEST",
        survey={"min_responses": 3},
        agencies={A: "UBND xã A", B: "Sở Tư pháp", SMALL: "UBND xã Ít"},
        officials=(
            OfficialEntry(telegram_id=ADMIN, role="admin", agencies=("*",)),
            OfficialEntry(telegram_id=OFFICIAL_A, role="official", agencies=(A,)),
            OfficialEntry(telegram_id=LIMITED_ADMIN, role="admin", agencies=(A,)),
        ),
    )


@pytest.fixture
async def chat(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Chat]:
    # Exports go to a temporary folder; pointing tempfile at tmp_path lets a test see it cleaned.
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    clock = Clock()
    request = FileRecordingRequest(watch=temp)
    async with started_bot(settings, request, clock) as application:
        services = services_of(application)
        await store_paper_responses(services.database, SEED, settings.bot.zone, clock.now)
        yield Chat(application, request, settings, clock, temp)


def csv_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the response rows of an export CSV (the index tables follow a blank row)."""
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    end = lines.index([]) if [] in lines else len(lines)
    return lines[0], lines[1:end]


def xlsx_text(data: bytes) -> tuple[list[str], str]:
    """The sheet names and every cell's text of an export XLSX."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    cells = [
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    return workbook.sheetnames, "\n".join(cells)


async def invite(chat: Chat, *agencies: str) -> str:
    reply = await chat.send(ADMIN, f"/invite {' '.join(agencies)}")
    found = INVITE.search(reply)
    assert found, reply
    return found.group()


# -- access control --------------------------------------------------------------------------


@pytest.mark.parametrize("command", OFFICIAL_COMMANDS)
async def test_a_stranger_gets_a_polite_refusal_and_no_figure(chat: Chat, command: str) -> None:
    reply = await chat.send(STRANGER, f"/{command} {A} 2026-10")
    assert reply == say("vi", "official_only")
    assert not re.search(r"\d", reply)
    assert chat.request.documents == []
    assert chat.count("subscriptions") == 0
    assert chat.count("invites") == 0


@pytest.mark.parametrize(
    "text",
    [
        f"/score {B}",
        f"/chiso {B}",
        f"/criteria {B}",
        f"/tieuchi {B}",
        f"/export {B}",
        f"/xuat {B} csv",
    ],
)
async def test_an_official_gets_no_figure_of_another_agency(chat: Chat, text: str) -> None:
    reply = await chat.send(OFFICIAL_A, text)
    assert f"«{B}»" in reply
    assert "phạm vi" in reply  # "not in your scope"
    assert "%" not in reply
    assert not DECIMAL.search(reply)
    assert chat.documents_to(OFFICIAL_A) == []


@pytest.mark.parametrize("command", ["score", "criteria", "export"])
async def test_an_out_of_scope_agency_is_named_alone_when_a_period_follows(
    chat: Chat, command: str
) -> None:
    reply = await chat.send(OFFICIAL_A, f"/{command} {B} 2026-10")
    assert "%" not in reply
    assert f"«{B}»" in reply


@pytest.mark.parametrize("command", ["ranking", "xephang"])
async def test_an_officials_ranking_lists_only_their_agencies(chat: Chat, command: str) -> None:
    reply = await chat.send(OFFICIAL_A, f"/{command} 2026-10")
    assert "1. UBND xã A" in reply
    assert A_SIPAS in reply
    assert "Sở Tư pháp" not in reply
    assert "UBND xã Ít" not in reply
    assert B_SIPAS not in reply


async def test_an_officials_export_holds_only_their_agencies(chat: Chat) -> None:
    await chat.send(OFFICIAL_A, "/export 2026-10 csv")
    [(_, data)] = chat.documents_to(OFFICIAL_A)
    header, rows = csv_rows(data)
    assert [row[header.index("agency")] for row in rows] == [A, A, A]
    text = data.decode("utf-8-sig")
    assert B not in text
    assert "Sở Tư pháp" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"/score {B} 2026-10", ["Sở Tư pháp", f"SIPAS: {B_SIPAS} (n=5;"]),
        (f"/chiso {A} 2026-10", ["UBND xã A", f"SIPAS: {A_SIPAS} (n=3;"]),
        ("/score 2026-10", ["Tất cả cơ quan", "(n=9;"]),
        ("/ranking 2026-10", ["1. UBND xã A", "2. Sở Tư pháp", "– UBND xã Ít"]),
        (f"/criteria {B} 2026-10", ["Sở Tư pháp", "Câu 19"]),
    ],
)
async def test_an_admin_sees_every_agency(chat: Chat, text: str, expected: list[str]) -> None:
    reply = await chat.send(ADMIN, text)
    for part in expected:
        assert part in reply


async def test_an_admins_export_holds_every_agency(chat: Chat) -> None:
    await chat.send(ADMIN, "/xuat 2026-10 csv")
    [(_, data)] = chat.documents_to(ADMIN)
    header, rows = csv_rows(data)
    agencies = [row[header.index("agency")] for row in rows]
    assert sorted(agencies) == sorted(response.agency for response in SEED)


# -- invites ---------------------------------------------------------------------------------


async def test_an_invite_lets_a_stranger_register_once_and_see_the_agency(chat: Chat) -> None:
    reply = await chat.send(ADMIN, f"/invite {A}")
    assert "UBND xã A" in reply
    assert "10:00 23/10/2026" in reply  # 72 h, local time, dd/mm/yyyy
    code = await invite(chat, A)
    assert "Đăng ký thành công" in await chat.send(STRANGER, f"/register {code}")
    assert A_SIPAS in await chat.send(STRANGER, "/score 2026-10")
    assert "%" not in await chat.send(STRANGER, f"/score {B} 2026-10")
    assert await chat.send(OTHER_STRANGER, f"/dangky {code}") == say("vi", "register_failed")
    assert await chat.send(OTHER_STRANGER, "/score") == say("vi", "official_only")


@pytest.mark.parametrize(
    ("typed", "accepted"),
    [
        (lambda code: code, True),
        (lambda code: code.lower(), True),
        (lambda code: code.replace("-", ""), True),
        (lambda code: code.replace("-", " "), True),
        (lambda code: code[:-1] + ("2" if code[-1] != "2" else "3"), False),
    ],
    ids=["as-given", "lower-case", "without-dash", "with-space", "wrong"],
)
async def test_an_invite_code_is_read_leniently_but_must_be_right(
    chat: Chat, typed: Any, accepted: bool
) -> None:
    code = await invite(chat, A)
    reply = await chat.send(STRANGER, f"/register {typed(code)}")
    assert ("Đăng ký thành công" in reply) is accepted
    after = await chat.send(STRANGER, f"/score {A} 2026-10")
    assert (A_SIPAS in after) is accepted


@pytest.mark.parametrize(
    ("wait", "accepted"),
    [(timedelta(hours=71), True), (timedelta(hours=72, minutes=1), False)],
    ids=["within-72h", "after-72h"],
)
async def test_an_invite_expires_after_72_hours(
    chat: Chat, wait: timedelta, accepted: bool
) -> None:
    code = await invite(chat, A)
    chat.clock.now += wait
    reply = await chat.send(STRANGER, f"/register {code}")
    assert (reply == say("vi", "register_failed")) is not accepted
    assert (await chat.send(STRANGER, "/score") == say("vi", "official_only")) is not accepted


@pytest.mark.parametrize("command", ["invite", "moi"])
async def test_only_an_admin_can_create_invites(chat: Chat, command: str) -> None:
    reply = await chat.send(OFFICIAL_A, f"/{command} {A}")
    assert reply == say("vi", "admin_only")
    assert not INVITE.search(reply)
    assert chat.count("invites") == 0


async def test_an_invite_must_name_known_agencies(chat: Chat) -> None:
    for text in ("/invite", "/invite khong_co"):
        reply = await chat.send(ADMIN, text)
        assert not INVITE.search(reply)
        assert f"/invite {A}" in reply
    assert chat.count("invites") == 0


@pytest.mark.parametrize("wanted", ["*", B, f"{A} {B}", f"{A} *"])
async def test_an_admin_limited_to_some_agencies_cannot_invite_beyond_them(
    chat: Chat, wanted: str
) -> None:
    reply = await chat.send(LIMITED_ADMIN, f"/invite {wanted}")
    assert reply == say("vi", "invite_out_of_scope", agencies="UBND xã A")
    assert not INVITE.search(reply)
    assert chat.count("invites") == 0


async def test_an_invite_by_a_limited_admin_gives_at_most_the_admins_scope(chat: Chat) -> None:
    reply = await chat.send(LIMITED_ADMIN, f"/invite {A}")
    found = INVITE.search(reply)
    assert found, reply
    assert "Đăng ký thành công" in await chat.send(STRANGER, f"/register {found.group()}")
    assert A_SIPAS in await chat.send(STRANGER, "/score 2026-10")
    assert B_SIPAS not in await chat.send(STRANGER, f"/score {B} 2026-10")


async def test_an_admin_of_every_agency_may_still_invite_for_every_agency(chat: Chat) -> None:
    code = await invite(chat, "*")
    await chat.send(STRANGER, f"/register {code}")
    assert B_SIPAS in await chat.send(STRANGER, f"/score {B} 2026-10")


@pytest.mark.parametrize("wanted", [B, "*"])
async def test_an_official_makes_visit_links_only_for_agencies_in_scope(
    chat: Chat, wanted: str
) -> None:
    reply = await chat.send(OFFICIAL_A, f"/visit {wanted}")
    assert "start=v_" not in reply
    assert "v_" not in reply
    assert "start=v_" in await chat.send(OFFICIAL_A, f"/visit {A}")


@pytest.mark.parametrize(
    ("wanted", "granted", "within"),
    [
        (("a",), ("a", "b"), True),
        (("a", "b"), ("a", "b"), True),
        (("c",), ("a", "b"), False),
        (("a", "c"), ("a", "b"), False),
        (("*",), ("a", "b"), False),
        (("*",), ("*",), True),
        (("a",), ("*",), True),
        ((), ("a",), True),
    ],
)
def test_a_scope_is_within_another_only_if_every_code_is(
    wanted: tuple[str, ...], granted: tuple[str, ...], within: bool
) -> None:
    assert within_scope(wanted, granted) is within


async def test_register_without_or_with_a_wrong_code_is_refused(chat: Chat) -> None:
    assert "/register" in await chat.send(STRANGER, "/register")
    assert await chat.send(STRANGER, "/register ABCD-EFGH") == say("vi", "register_failed")
    assert await chat.send(STRANGER, "/score") == say("vi", "official_only")


async def test_wrong_codes_are_capped_per_person_per_hour_without_checking_the_code(
    chat: Chat,
) -> None:
    code = await invite(chat, A)
    for _ in range(5):
        assert await chat.send(STRANGER, "/register ABCD-EFGH") == say("vi", "register_failed")
    # The sixth try is refused even with the right code: guessing on gets nothing.
    assert await chat.send(STRANGER, f"/register {code}") == say("vi", "register_throttled")
    assert await chat.send(STRANGER, "/score") == say("vi", "official_only")
    # Somebody else is not held back by the stranger's guesses.
    other = await invite(chat, A)
    assert "Đăng ký thành công" in await chat.send(OTHER_STRANGER, f"/register {other}")
    chat.clock.now += timedelta(hours=1, minutes=1)
    assert "Đăng ký thành công" in await chat.send(STRANGER, f"/register {code}")


async def test_the_count_of_wrong_codes_survives_a_restart(chat: Chat, settings: Settings) -> None:
    for _ in range(5):
        await chat.send(STRANGER, "/register ABCD-EFGH")
    code = await invite(chat, A)
    # A second bot on the same database (a restart, or another instance) sees the count.
    request = FileRecordingRequest()
    again = build_application(settings, request=request, rate_limiter=False, clock=chat.clock)
    async with again:
        await on_startup(again)
        await feed(again, text_update(STRANGER, f"/register {code}"))
        await on_shutdown(again)
    assert request.last_text() == say("vi", "register_throttled")


async def test_wrong_codes_are_logged_under_a_pseudonym_only(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(6):
        await chat.send(STRANGER, "/register ABCD-EFGH")
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("register:")]
    assert len(logged) == 6
    assert sum("too many" in line for line in logged) == 1
    text = caplog.text + "\n".join(logged)
    assert str(STRANGER) not in text
    assert "ABCD" not in text  # nor the code that was tried
    stored = query_rows(chat.settings.storage, "SELECT who FROM register_failures")
    assert len(stored) == 5
    assert all(str(STRANGER) not in who for (who,) in stored)


async def test_invite_codes_are_not_stored_in_clear(chat: Chat) -> None:
    code = await invite(chat, A)
    await chat.send(STRANGER, f"/register {code}")
    stored = chat.stored_bytes()
    for form_of_code in (code, code.replace("-", ""), code.lower()):
        assert form_of_code.encode() not in stored
    assert chat.count("invites") == 1


async def test_a_copy_of_the_database_does_not_reveal_outstanding_invite_codes(
    chat: Chat,
) -> None:
    """Codes have 32^8 values: a plain hash of each is a table anyone can build, so the stored
    hash is keyed with the privacy secret and matches none of the plain hashes of the code."""
    code = await invite(chat, A)
    [(stored,)] = query_rows(chat.settings.storage, "SELECT code_hash FROM invites")
    normal = code.replace("-", "")
    for plain in (normal, code, normal.lower()):
        for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5):
            assert stored != digest(plain.encode()).hexdigest()
    assert "Đăng ký thành công" in await chat.send(STRANGER, f"/register {code}")


# -- the commands ----------------------------------------------------------------------------


async def test_score_shows_the_index_the_vietnamese_way(chat: Chat) -> None:
    reply = await chat.send(OFFICIAL_A, f"/score {A} 2026-10")
    lines = reply.splitlines()
    assert lines[0] == "Chỉ số hài lòng (SIPAS) – UBND xã A"
    assert lines[1] == "Kỳ: 01/10/2026 – 31/10/2026"
    assert re.fullmatch(r"SIPAS: 93,67% \(n=3; KTC 95%: \d+,\d\d–\d+,\d\d\)", lines[2])
    elements = [line for line in lines if line.startswith("• ")]
    assert len(elements) == 5
    assert elements[0].startswith("• Tiếp cận dịch vụ hành chính công: 75,00% (n=3; ")
    assert elements[2].startswith("• Công chức trực tiếp giải quyết công việc: 93,33% (n=3; ")
    for line in elements:
        assert re.search(r": \d+,\d\d% \(n=3; \d+,\d\d–\d+,\d\d\)$", line), line
    assert "Kỳ trước (31/08/2026 – 30/09/2026)" in reply
    assert not re.search(r"\d\.\d", reply)  # no decimal point anywhere


async def test_score_defaults_to_the_current_month_and_the_only_agency(chat: Chat) -> None:
    assert await chat.send(OFFICIAL_A, "/score") == await chat.send(
        OFFICIAL_A, f"/chiso {A} 2026-10"
    )


@pytest.mark.parametrize("command", ["score", "criteria"])
async def test_a_small_sample_shows_not_enough_responses_and_no_number(
    chat: Chat, command: str
) -> None:
    reply = await chat.send(ADMIN, f"/{command} {SMALL} 2026-10")
    assert "Chưa đủ phiếu để tính chỉ số (n=1; cần ít nhất 3)." in reply
    assert "%" not in reply
    assert not DECIMAL.search(reply)


@pytest.mark.parametrize("period", ["tháng-13", "2026-13", "2026-Q5", "10/2026"])
@pytest.mark.parametrize("command", ["score", "chiso"])
async def test_a_wrong_period_gets_the_syntax_and_an_example(
    chat: Chat, command: str, period: str
) -> None:
    reply = await chat.send(OFFICIAL_A, f"/{command} {A} {period}")
    assert f"«{period}»" in reply
    assert "2026-Q3" in reply  # the accepted forms
    assert f"Ví dụ: /score {A} 2026-10" in reply
    assert "%" not in reply


async def test_criteria_are_listed_weakest_first(chat: Chat) -> None:
    reply = await chat.send(OFFICIAL_A, "/tieuchi 2026-10")
    lines = reply.splitlines()
    labels = [line.split(":")[0] for line in lines if line.startswith("• ")]
    assert labels[:3] == ["• Câu 1", "• Câu 2", "• Câu 9"]
    assert len(labels) == len(CRITERIA)
    values = [float(m.replace(",", ".")) for m in re.findall(r"^  (\d+,\d\d)%", reply, re.M)]
    assert values[:3] == [33.33, 66.67, 66.67]
    assert values == sorted(values)


async def test_ranking_ranks_agencies_and_flags_small_samples(chat: Chat) -> None:
    reply = await chat.send(ADMIN, "/xephang 2026-10")
    lines = reply.splitlines()
    assert lines.index("1. UBND xã A") < lines.index("2. Sở Tư pháp")
    assert f"   {A_SIPAS} (n=3; " in reply
    assert f"   {B_SIPAS} (n=5; " in reply
    assert "– UBND xã Ít: chưa đủ phiếu (n=1)" in lines
    assert "Cần ít nhất 3 phiếu để được xếp hạng." in lines


async def test_export_csv_sends_a_document_with_one_row_per_response(chat: Chat) -> None:
    reply = await chat.send(ADMIN, "/export 2026-10 csv")
    assert reply == "Dữ liệu 01/10/2026–31/10/2026: 3 cơ quan."
    [(name, data)] = chat.documents_to(ADMIN)
    assert name.endswith(".csv")
    header, rows = csv_rows(data)
    assert header[:3] == ["response_id", "respondent", "agency"]
    assert len(rows) == len(SEED)
    assert {row[header.index("channel")] for row in rows} == {"paper"}
    assert name in chat.request.seen  # written to the temporary folder, then sent…
    assert list(chat.temp.iterdir()) == []  # …and the file and its folder are gone


async def test_export_defaults_to_xlsx_with_both_sheets(chat: Chat) -> None:
    await chat.send(OFFICIAL_A, "/xuat 2026-10")
    [(name, data)] = chat.documents_to(OFFICIAL_A)
    assert name.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Phiếu trả lời", "Chỉ số"]
    assert workbook["Phiếu trả lời"].max_row == 1 + 3
    assert name in chat.request.seen
    assert list(chat.temp.iterdir()) == []


async def test_a_failed_export_tells_the_official_and_leaves_no_temporary_folder(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any) -> Path:
        out: Path = args[3]
        out.write_bytes(b"PK\x03\x04 half a workbook")  # the disk filled up mid-write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bot.files.export, "write_export", disk_full)
    assert await chat.send(ADMIN, "/export 2026-10") == say("vi", "error")
    assert chat.documents_to(ADMIN) == []
    assert list(chat.temp.iterdir()) == []


async def test_subscribe_and_unsubscribe_the_weekly_digest(chat: Chat) -> None:
    assert await chat.send(OFFICIAL_A, "/subscribe") == say("vi", "subscribed")
    assert await chat.send(OFFICIAL_A, "/theodoi") == say("vi", "already_subscribed")
    assert chat.count("subscriptions") == 1
    assert await chat.send(OFFICIAL_A, "/unsubscribe") == say("vi", "unsubscribed")
    assert await chat.send(OFFICIAL_A, "/huytheodoi") == say("vi", "not_subscribed")
    assert chat.count("subscriptions") == 0


async def test_an_official_who_chose_english_gets_english(chat: Chat) -> None:
    await chat.send(OFFICIAL_A, "/lang en")
    reply = await chat.send(OFFICIAL_A, f"/score {A} 2026-10")
    assert reply.startswith(
        "Satisfaction index (SIPAS) – UBND xã A\nPeriod: 2026-10-01 – 2026-10-31"
    )
    assert "SIPAS: 93.67% (n=3; 95% CI: " in reply
    assert await chat.send(OFFICIAL_A, "/subscribe") == say("en", "subscribed")
    assert "Example: /score" in await chat.send(OFFICIAL_A, "/score 2026-13")


# -- privacy ---------------------------------------------------------------------------------


async def complete_survey_as_citizen(chat: Chat) -> None:
    """One survey through the citizen flow, by a citizen with a distinctive id and names."""
    sender = user(CITIZEN, CITIZEN_NAME, CITIZEN_USERNAME)
    await chat.send(CITIZEN, f"/start {A}", **{"from": sender})

    async def press(label_prefix: str) -> None:
        buttons = chat.request.last_buttons()
        data = next(d for label, d in buttons if label.startswith(label_prefix))
        update = press_update(CITIZEN, data, message_id=chat.request.last_message_id())
        update["callback_query"]["from"] = sender
        await feed(chat.app, update)

    await press("Đồng ý")
    for number in range(len(CRITERIA)):
        await press(str(number % 5 + 1))
    while chat.request.last_buttons():  # optional steps: the first button moves on
        await press(chat.request.last_buttons()[0][0])
    assert "Cảm ơn" in chat.request.last_text()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_export_holds_no_telegram_identity_of_citizens(chat: Chat, fmt: str) -> None:
    await complete_survey_as_citizen(chat)
    await chat.send(ADMIN, f"/export 2026-10 {fmt}")
    [(_, data)] = chat.documents_to(ADMIN)
    if fmt == "csv":
        text = data.decode("utf-8-sig")
        header, rows = csv_rows(data)
        assert [row[header.index("channel")] for row in rows].count("telegram") == 1
    else:
        _, text = xlsx_text(data)
        assert "telegram" in text
    for identity in (str(CITIZEN), CITIZEN_NAME, "Zebediah", CITIZEN_USERNAME):
        assert identity not in text


# -- command menus ---------------------------------------------------------------------------


def official_menus(chat: Chat, user_id: int) -> dict[str | None, list[str]]:
    """The command menus set for one official's chat, by language code."""
    found: dict[str | None, list[str]] = {}
    for call in chat.request.sent("setMyCommands"):
        scope = call.params.get("scope")
        if isinstance(scope, str):
            scope = json.loads(scope)
        if isinstance(scope, dict) and scope.get("chat_id") == user_id:
            commands = call.params["commands"]
            if isinstance(commands, str):
                commands = json.loads(commands)
            found[call.params.get("language_code")] = [c["command"] for c in commands]
    return found


async def test_configured_officials_get_their_commands_in_their_own_menu(chat: Chat) -> None:
    admin, official = official_menus(chat, ADMIN), official_menus(chat, OFFICIAL_A)
    assert set(admin) == {None, "en"}
    assert {"start", "score", "ranking", "export", "digest", "invite"} <= set(admin[None])
    assert "score" in official[None]
    assert "invite" not in official[None]  # only admins invite
    assert official_menus(chat, STRANGER) == {}


async def test_a_registered_official_gets_the_menu_on_registering(chat: Chat) -> None:
    code = await invite(chat, A)
    assert official_menus(chat, STRANGER) == {}
    await chat.send(STRANGER, f"/register {code}")
    assert "score" in official_menus(chat, STRANGER)[None]
