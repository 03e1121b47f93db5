"""A consumer worker process for the SIGKILL fault test (``python -m
shared.tests.integration.fault_worker``, from the repository root): the test consumer of
:mod:`backbone_kit` with a slow handler that prints ``handled <seq>`` once it applied an effect
(in the consumer's transaction, or committed apart for the negative control). SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.db import create_engine, create_session_factory
from city_shared.envelope import Event

from .backbone_kit import QUICK_GROUP, Db, Seq, apply_effect, apply_effect_apart, make_consumer


async def work(args: argparse.Namespace) -> None:
    engine = create_engine(args.database_url)
    db = Db(args.database_url, engine, create_session_factory(engine))

    async def handler(session: AsyncSession, event: Event) -> None:
        await asyncio.sleep(args.step)
        if args.effect_apart:
            await apply_effect_apart(engine, event)
        else:
            await apply_effect(session, event)
        print(f"handled {event.parse(Seq).seq}", flush=True)

    consumer, dead_letters = make_consumer(
        db, args.bootstrap, args.topic, args.dlq, handler, group=args.group, extra=QUICK_GROUP
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await consumer.run(stop)
    finally:
        await dead_letters.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--dlq", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--step", type=float, default=0.02)
    parser.add_argument("--effect-apart", action="store_true")
    asyncio.run(work(parser.parse_args()))


if __name__ == "__main__":
    main()
