"""The media retention duty: the bytes of photos and clips are deleted
`DISPATCH_MEDIA_RETENTION_DAYS` after their incident was resolved (decision 37).

A clock source (duties/scheduler.py): it looks every `DISPATCH_MEDIA_SWEEP_S` (and once at
start), so a failure is reported to the supervisor like any clock's, shows in health and on
the consoles, and is retried with backoff. Each incident's expiry is one writer job: the
chunks deleted, the rows marked expired and one `media_expired` event, together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dispatch_server.domain.media import retention_cutoff
from dispatch_server.services import media
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx

RETENTION = "media_retention"


@dataclass
class Retention:
    ctx: Context
    next_at: float = 0.0  # at start: look at once

    def next_check(self) -> float | None:
        return self.next_at

    async def apply_due(self, now: float) -> None:
        if now < self.next_at:
            return
        settings = self.ctx.settings
        cutoff = retention_cutoff(now, settings.media_retention_days)
        found = await self.ctx.read(media.expired_media, cutoff)
        for incident_id, media_ids in found.items():
            await self.ctx.writer.run(expiring(incident_id, media_ids))
        # Only after a sweep that went through: a failed one is due again (after a backoff).
        self.next_at = now + settings.media_sweep_s


def expiring(incident_id: int, media_ids: list[int]) -> Callable[[Tx], None]:
    """The writer job that expires these media of one incident."""
    return lambda tx: media.expire(tx, incident_id, media_ids)
