"""A libzmq publisher (pyzmq) shaped like oned's hook driver, driven over stdin/stdout.

The Rust tests in tests/events_pyzmq.rs start it, send one JSON command per line on its stdin
and read one JSON answer per line on its stdout. It binds an XPUB socket (libzmq's PUB with
subscriptions visible, so the tests know when a subscriber is subscribed instead of sleeping),
with no send high-water mark so that libzmq itself never drops a message.

Commands:
  {"cmd": "await_subscriptions", "count": n}  wait for n subscription messages
  {"cmd": "send", "messages": [[frame, ...], ...]}  frames as text, or {"b64": ...} for bytes
  {"cmd": "replay", "path": p}                 send every message of an events.jsonl recording
  {"cmd": "flood", "count": n}                 n API messages, key "EVENT API one.vm.deploy 1",
                                               the sequence number (0...) as IN parameter 2
  {"cmd": "close"}                             close the socket (the publisher goes away)
  {"cmd": "rebind"}                            bind a new socket on the same endpoint
  {"cmd": "probe"}                            send "EVENT API one.zz.probe 1" every 20 ms
                                               until the next command arrives (a plain PUB
                                               cannot see subscriptions: this handshake
                                               replaces them)
  {"cmd": "exit"}
The first line printed is {"endpoint": "tcp://127.0.0.1:port", "libzmq": "4.3.x"}.
With the argument --pub, the socket is a plain PUB, as oned's driver uses. With --manual, the socket ignores what subscribers ask for and sends them
everything (ZMQ_XPUB_MANUAL, each subscriber subscribed to ""): the subscriber's own
filtering is then all there is.
"""

import base64
import json
import select
import sys

import zmq

MANUAL = "--manual" in sys.argv
PLAIN_PUB = "--pub" in sys.argv
context = zmq.Context()


def bind(endpoint="tcp://127.0.0.1:*"):
    sock = context.socket(zmq.PUB if PLAIN_PUB else zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.LINGER, 1000)
    if not PLAIN_PUB:
        # Report every subscription, repeats included, so that the tests can count them.
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    if MANUAL and not PLAIN_PUB:
        sock.setsockopt(zmq.XPUB_MANUAL, 1)
    sock.bind(endpoint)
    return sock


def answer(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def frame(value):
    if isinstance(value, dict):
        return base64.b64decode(value["b64"])
    return value.encode()


def api_payload(seq, call="one.vm.deploy"):
    xml = (
        "<HOOK_MESSAGE><HOOK_TYPE>API</HOOK_TYPE><CALL>" + call + "</CALL><CALL_INFO>"
        "<RESULT>1</RESULT><PARAMETERS>"
        "<PARAMETER><POSITION>1</POSITION><TYPE>IN</TYPE><VALUE>****</VALUE></PARAMETER>"
        "<PARAMETER><POSITION>2</POSITION><TYPE>IN</TYPE><VALUE>%d</VALUE></PARAMETER>"
        "<PARAMETER><POSITION>1</POSITION><TYPE>OUT</TYPE><VALUE>true</VALUE></PARAMETER>"
        "</PARAMETERS><EXTRA></EXTRA></CALL_INFO></HOOK_MESSAGE>" % seq
    )
    return base64.b64encode(xml.encode())


sock = bind()
endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
answer({"endpoint": endpoint, "libzmq": zmq.zmq_version()})

pending = None
while True:
    line = pending if pending is not None else sys.stdin.readline()
    pending = None
    if not line:
        break
    command = json.loads(line)
    cmd = command["cmd"]
    if cmd == "await_subscriptions":
        seen = []
        while len(seen) < command["count"]:
            message = sock.recv()
            if message[:1] == b"\x01":
                seen.append(message[1:].decode(errors="replace"))
                if MANUAL:
                    sock.setsockopt(zmq.SUBSCRIBE, b"")
        answer({"subscriptions": seen})
    elif cmd == "send":
        for message in command["messages"]:
            sock.send_multipart([frame(f) for f in message])
        answer({"sent": len(command["messages"])})
    elif cmd == "replay":
        sent = 0
        with open(command["path"]) as recording:
            for record in recording:
                if record.strip():
                    event = json.loads(record)
                    sock.send_multipart([event["key"].encode(), event["payload_b64"].encode()])
                    sent += 1
        answer({"sent": sent})
    elif cmd == "flood":
        for seq in range(command["count"]):
            sock.send_multipart([b"EVENT API one.vm.deploy 1", api_payload(seq)])
        answer({"sent": command["count"]})
    elif cmd == "close":
        sock.close()
        answer({"closed": True})
    elif cmd == "rebind":
        # The closed socket's listener is released by libzmq's I/O thread: retry briefly.
        for attempt in range(100):
            try:
                sock = bind(endpoint)
                break
            except zmq.ZMQError:
                if attempt == 99:
                    raise
                select.select([], [], [], 0.05)
        answer({"endpoint": sock.getsockopt_string(zmq.LAST_ENDPOINT)})
    elif cmd == "probe":
        probe = api_payload(-1, "one.zz.probe")
        while pending is None:
            sock.send_multipart([b"EVENT API one.zz.probe 1", probe])
            ready, _, _ = select.select([sys.stdin], [], [], 0.02)
            if ready:
                pending = sys.stdin.readline()
        answer({"probed": True})
    elif cmd == "exit":
        answer({"bye": True})
        break
    else:
        answer({"error": "unknown command " + cmd})
