"""The weekly digest on Zalo: the text split within Zalo's limit, the chart by public URL."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from bot.config import ZaloSection
from bot.zalo.api import ZaloApiError, ZaloBotApi, wait_after
from handlers.delivery import DigestChannel, Send, SendOutcome
from survey.channels import ZALO, split_text
from survey.digest import RenderedDigest

log = logging.getLogger(__name__)


def zalo_digest(api: ZaloBotApi, section: ZaloSection) -> DigestChannel:
    """Text (split within Zalo's limit), then the chart by URL when a public URL is set."""

    def messages(user_id: str, rendered: RenderedDigest) -> list[Send]:
        def text(part: str) -> Send:
            return lambda: api.call("sendMessage", {"chat_id": user_id, "text": part})

        async def chart() -> None:
            name = publish_chart(section.media_dir, rendered.png)
            url = f"{section.public_media_url}/{name}"
            await api.call("sendPhoto", {"chat_id": user_id, "photo": url})

        sends = [text(part) for part in split_text(rendered.text, ZALO.text_limit)]
        return [*sends, chart] if section.public_media_url else sends

    return DigestChannel(messages, wait_after, _zalo_outcome)


def _zalo_outcome(error: Exception) -> SendOutcome | None:
    if not isinstance(error, ZaloApiError):
        return None
    if error.transient:
        return "failed"
    # Zalo documents no "blocked" answer; 403 is what a refusal to a person looks like.
    return "blocked" if error.code == 403 else "rejected"


def publish_chart(folder: Path, png: bytes) -> str:
    """Write the chart under a name nobody can guess without the chart itself (the URL is
    public), the same name for the same chart so a retry writes nothing new; the name."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"sipas-{hashlib.sha256(png).hexdigest()[:32]}.png"
    path = folder / name
    if not path.exists():
        path.write_bytes(png)
    return name
