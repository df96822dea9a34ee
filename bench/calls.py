"""Bot API calls per completed survey, counted by the recording fake request.

The baseline is the number of updates the citizen sent for that survey: one call per update
(the answer to each button press) is the least a chat bot can do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.answer_path import bot_traffic, survey_statements
from bench.common import Figure, figure, median

CITIZENS = 5


async def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="sipas-bench-") as name:
        traffic = await bot_traffic(Path(name), concurrency=1, citizens=CITIZENS)
    updates = [len(sent) for sent in traffic.updates]
    statements = survey_statements()
    return [
        figure(
            "calls.per_survey",
            median(traffic.calls),
            "calls",
            runs=CITIZENS,
            baseline=("updates sent per survey", median(updates)),
            target=f"<= {2 * statements + 5}",
        )
    ]
