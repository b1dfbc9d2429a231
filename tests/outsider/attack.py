"""An outsider's first moves against a running `styr serve`, from Python.

Run by `crates/cli/tests/it/cli.rs` (an_outsider_with_nats_py_cannot_break_in)
against a serve it starts; standalone:

    STYR_CREDENTIALS=.styr/credentials python3 tests/outsider/attack.py

Exits 0 when every attack failed to do harm, 1 (with what got through)
otherwise. Only talks to the URLs in the credentials folder (loopback).
"""

import asyncio
import json
import os
import sys

import nats
from nats.errors import Error as NatsError

CREDS = os.environ.get("STYR_CREDENTIALS", ".styr/credentials")
failures = []


def url(user):
    with open(os.path.join(CREDS, f"{user}.url")) as f:
        return f.read().strip()


async def connect(user, **kw):
    """A user's connection, replies under its own inbox prefix."""
    return await nats.connect(url(user), inbox_prefix=f"_INBOX_{user}", **kw)


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


async def stream_state(service):
    r = await service.request("$JS.API.STREAM.INFO.styr-vimmerby", b"", timeout=5)
    return json.loads(r.data)["state"]["messages"]


def submission(key, body="kf", command=None):
    return {
        "idempotency_key": key,
        "recorded_by": "kf-ordforande",
        "provenance": {
            "decided_by": {"kind": "body", "body": body, "meeting_date": "2026-06-15", "paragraph": "1"},
            "effective_date": "2026-06-15",
        },
        "command": command
        or {"command": "establish_body", "body": "xn", "kind": "committee", "name": "X", "area": "x"},
    }


async def main():
    service = await connect("styr-service")
    before = await stream_state(service)

    # No credentials, wrong password.
    for name, target in [
        ("no credentials", url("app").split("@")[-1]),
        ("wrong password", "nats://app:wrong@" + url("app").split("@")[-1]),
    ]:
        try:
            nc = await nats.connect(target if "://" in target else "nats://" + target,
                                    allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
            await nc.close()
            check(False, f"connect with {name} is refused")
        except Exception:
            check(True, f"connect with {name} is refused")

    errors = []

    async def on_error(e):
        errors.append(e)

    app = await connect("app", error_cb=on_error)
    # A raw publish into the kommun's subjects and the stream API's
    # destructive verbs.
    await app.publish("styr.vimmerby.uppdrag.u-2026-01", b"not an envelope")
    for verb, body in [
        ("DELETE", b""),
        ("PURGE", b""),
        ("UPDATE", json.dumps({"name": "styr-vimmerby", "subjects": ["styr.vimmerby.>"], "max_msgs": 10}).encode()),
    ]:
        try:
            await app.request(f"$JS.API.STREAM.{verb}.styr-vimmerby", body, timeout=1)
            check(False, f"STREAM.{verb} by an application user is refused")
        except NatsError:
            check(True, f"STREAM.{verb} by an application user is refused")
    # Listening to everyone's replies.
    await app.subscribe("_INBOX.>")

    def inbox_refused():
        return any("permission" in str(e).lower() and "_inbox" in str(e).lower() for e in errors)

    # The server's -ERR reaches the error callback asynchronously: look for
    # it after each round trip, a bounded number of times.
    for _ in range(100):
        await app.flush()
        if inbox_refused():
            break
        await asyncio.sleep(0.02)
    check(inbox_refused(), "subscribing to other users' replies is refused")
    check(any("ermission" in str(e) for e in errors), "the server reports permission violations")
    check(await stream_state(service) == before, "the stream is unchanged")

    # Impersonation: a KF decision claiming to be recorded by KF's chair,
    # with a forged Nats-Request-Info header.
    r = await app.request(
        "styrkedja.api.vimmerby.submit",
        json.dumps(submission("py-forged")).encode(),
        headers={"Nats-Request-Info": json.dumps({"acc": "STYRKEDJA", "user": "lokal-operator"})},
        timeout=5,
    )
    reply = json.loads(r.data)
    check(reply.get("rule") == "P1" and "app" in reply.get("message", ""),
          f"a KF decision from 'app' is refused as P1 naming app ({reply})")
    # Squatting a kommun.
    r = await app.request(
        "styrkedja.api.squat.submit",
        json.dumps(submission("py-squat", command={"command": "register_kommun", "name": "X", "kommunkod": "9999", "council": "kf"})).encode(),
        timeout=5,
    )
    check(json.loads(r.data).get("rule") == "P1", "registering a kommun as 'app' is refused")
    check(await stream_state(service) == before, "nothing was appended")

    # A contribution in a kommunalförbund's name from a user with no grant
    # for it.
    contribution = {"command": "record_contribution", "contribution": "py-bidrag", "body": "rtj",
                    "goal": "etab-m1", "year": 2026, "title": "Bidrag"}
    r = await app.request("styrkedja.api.vimmerby.submit",
                          json.dumps(submission("py-forbund", body="rtj", command=contribution)).encode(), timeout=5)
    check(json.loads(r.data).get("rule") == "P1", "a contribution in the förbund's name from 'app' is refused as P1")
    check(await stream_state(service) == before, "nothing was appended")

    # Reading is allowed: a durable pull consumer gets every event.
    js = app.jetstream()
    sub = await js.pull_subscribe("styr.vimmerby.>", durable="py-outsider", stream="styr-vimmerby")
    got = 0
    while True:
        try:
            msgs = await sub.fetch(200, timeout=2)
        except Exception:
            break
        for m in msgs:
            await m.ack()
        got += len(msgs)
    check(got == before, f"a durable consumer reads every event ({got} of {before})")

    # The revisor reads but does not submit.
    revisor = await connect("revisor")
    try:
        await revisor.request("styrkedja.api.vimmerby.submit", json.dumps(submission("py-rev")).encode(), timeout=1)
        check(False, "the revisor cannot submit")
    except NatsError:
        check(True, "the revisor cannot submit")
    r = await revisor.request("styrkedja.api.vimmerby.query", json.dumps({"query": {"kind": "plan", "year": 2026}}).encode(), timeout=5)
    check("result" in json.loads(r.data), "the revisor can query")
    r = await revisor.request("styrkedja.api.vimmerby.query",
                              json.dumps({"query": {"kind": "agenda2030", "goal": 4}}).encode(), timeout=5)
    a = json.loads(r.data)
    check(a.get("query") == "agenda2030" and any(g["path"] == "goal/kf-m2" for g in a["result"]["serving"]),
          "what serves Agenda 2030 goal 4 is answered")
    r = await revisor.request("styrkedja.api.vimmerby.query",
                              json.dumps({"query": {"kind": "agenda2030", "goal": 18}}).encode(), timeout=5)
    check("18" in r.data.decode() and "result" not in json.loads(r.data), "goal 18 is an error that says so")
    r = await revisor.request("styrkedja.api.vimmerby.query",
                              json.dumps({"query": {"kind": "register", "register": "process"}}).encode(), timeout=5)
    procs = json.loads(r.data).get("result", [])
    check(any(p["process"]["id"] == "etablering" and p["contributions"] for p in procs),
          "the process register lists processes with their contributions")

    for nc in (app, revisor, service):
        await nc.close()
    if failures:
        print(f"{len(failures)} attacks got through", file=sys.stderr)
        sys.exit(1)


asyncio.run(main())
