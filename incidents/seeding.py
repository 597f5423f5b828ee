"""Loads ``seeds/`` through the same append path as HTTP clients (``LogService``)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from incidents.domain.rules import DomainRules
from incidents.http.bodies import MultiAppendBody
from incidents.projections.inline import inline_projections
from incidents.service import LogService
from incidents.settings import Settings
from incidents.store.factory import open_store

_decode_seed = msgspec.json.Decoder(MultiAppendBody)


def seed_files(seeds_dir: Path) -> list[Path]:
    """The seed files in load order: the order ``index.json`` gives, else by name."""
    index = seeds_dir / "index.json"
    if index.exists():
        names = msgspec.json.decode(index.read_bytes(), type=list[str])
        return [seeds_dir / name for name in names]
    return sorted(seeds_dir.glob("*.json"))


async def load_into(service: LogService, seeds_dir: Path) -> tuple[int, int]:
    """Append every seed file; returns (events stored now, events already stored)."""
    created = existing = 0
    for path in seed_files(seeds_dir):
        body = _decode_seed.decode(path.read_bytes())
        for result in await service.append_many(body.appends):
            if result.created:
                created += len(result.events)
            else:
                existing += len(result.events)
    return created, existing


async def load_seeds(settings: Settings, seeds_dir: Path) -> tuple[int, int]:
    """Open the configured store and load the seeds into it."""
    store = await open_store(
        settings.database_url, DomainRules(), settings, projections=inline_projections()
    )
    try:
        return await load_into(LogService(store), seeds_dir)
    finally:
        await store.close()
