"""Synthetic but realistic responses for the demo and the benchmarks, from a seeded generator."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from survey.flow import steps
from survey.models import Questionnaire
from survey.paper import PaperResponse

COMMENTS = (
    "Cán bộ hướng dẫn nhiệt tình, chu đáo.",
    "Thời gian chờ đợi hơi lâu, nên bố trí thêm người tiếp nhận.",
    "Nên niêm yết thủ tục rõ ràng hơn ở bảng thông tin.",
    "Phòng chờ chật, thiếu ghế ngồi vào giờ cao điểm.",
    "Trả kết quả đúng hẹn, tôi rất hài lòng.",
    "Mong cơ quan mở thêm dịch vụ công trực tuyến.",
    "Máy lấy số thứ tự hay bị hỏng.",
    "Cán bộ trả lời qua điện thoại chưa rõ ràng.",
)


@dataclass(frozen=True)
class Profile:
    """How an agency's citizens tend to feel: a level, a weekly trend and a weekly volume."""

    code: str
    questionnaire: Questionnaire
    level: float  # mean latent mood on the 1–5 scale
    trend: float  # change of that mean per week
    per_week: float  # mean responses per week


def generate(
    profiles: Sequence[Profile], first_day: date, weeks: int, seed: int
) -> Iterator[PaperResponse]:
    """Responses day by day; the same arguments always give the same responses."""
    rng = random.Random(seed)
    for profile in profiles:
        steps_done = len(steps(profile.questionnaire))
        # A criterion's own offset: some criteria are consistently weaker than others.
        offsets = {c: rng.gauss(0, 0.35) for c in profile.questionnaire.criterion_ids}
        for day_number in range(weeks * 7):
            day = first_day + timedelta(days=day_number)
            if day.weekday() == 6:  # one-stop counters are closed on Sundays
                continue
            mood = profile.level + profile.trend * day_number / 7
            for _ in range(_poisson(rng, profile.per_week / 6)):
                yield _response(rng, profile, offsets, steps_done, day, mood)


def _response(
    rng: random.Random,
    profile: Profile,
    offsets: dict[str, float],
    position: int,
    day: date,
    mood: float,
) -> PaperResponse:
    person = rng.gauss(mood, 0.7)
    answers: dict[str, int | None] = {}
    for criterion in profile.questionnaire.criterion_ids:
        na_rate = 0.12 if criterion.startswith("feedback") else 0.02
        if rng.random() < na_rate:
            answers[criterion] = None
        else:
            value = round(person + offsets[criterion] + rng.gauss(0, 0.5))
            answers[criterion] = min(5, max(1, value))
    extras: dict[str, str | None] = {}
    for step in profile.questionnaire.optional:
        if step.kind == "text":
            extras[step.id] = rng.choice(COMMENTS) if rng.random() < 0.12 else None
        else:
            skipped = rng.random() < 0.25
            extras[step.id] = None if skipped else rng.choice(step.options).id
    moment = datetime.combine(day, time(7, 30)) + timedelta(minutes=rng.randrange(0, 600))
    return PaperResponse(
        line=0,
        agency=profile.code,
        questionnaire=profile.questionnaire.id,
        position=position,
        submitted_at=moment,
        answers=answers,
        extras=extras,
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means here are small (a few responses a day)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
