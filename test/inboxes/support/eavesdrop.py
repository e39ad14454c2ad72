# An eavesdropper on nats-py: one connection subscribed to every subject in SUBJECTS (a JSON
# list), printing one JSON line per message ({"subject", "data"}), per asynchronous error the
# server sent ({"error"}: a refused subscription) and once when every subscription is sent and
# flushed ({"ready"}). Runs until it is killed. nats-py reports a permissions violation to
# error_cb and keeps the connection, so one refused subject leaves the others listening.
import asyncio
import json
import os

import nats


def emit(value):
    print(json.dumps(value), flush=True)


async def main():
    async def on_error(error):
        emit({"error": str(error)})

    nc = await nats.connect(
        servers=os.environ["NATS_URL"].split(","),
        user=os.environ["NATS_USER"],
        password=os.environ["NATS_PASSWORD"],
        inbox_prefix=os.environ["NATS_INBOX_PREFIX"],
        name="eavesdropper-nats-py",
        error_cb=on_error,
        allow_reconnect=False,
        # Object chunks arrive twice (on ">" and "_INBOX.>"): room for them all.
        pending_size=64 * 1024 * 1024,
    )

    async def on_message(msg):
        emit({"subject": msg.subject, "data": msg.data.decode("utf-8", "replace")})

    for subject in json.loads(os.environ["SUBJECTS"]):
        await nc.subscribe(subject, cb=on_message)
    await nc.flush()
    emit({"ready": True})
    await asyncio.Event().wait()


asyncio.run(main())
