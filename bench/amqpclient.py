"""bench/consume's broker side (runs with pika, from the 1.6.2 virtualenv).

  amqpclient.py fill QUEUE N     declare QUEUE and publish N small messages to it
  amqpclient.py drain QUEUE T    wait for a consumer on QUEUE, then until it is
                                 empty; print "<seconds> <messages/s>" (T: timeout)
"""
import sys
import time

import pika

PARAMS = pika.ConnectionParameters("127.0.0.1", 5672)


def fill(queue, n):
    conn = pika.BlockingConnection(PARAMS)
    ch = conn.channel()
    ch.queue_declare(queue)
    body = b'{"id": 0, "payload": "hello"}'
    for _ in range(n):
        ch.basic_publish("", queue, body)
    # A round trip after the last publish: the broker has them all.
    ch.queue_declare(queue, passive=True)
    conn.close()


def drain(queue, timeout):
    conn = pika.BlockingConnection(PARAMS)
    ch = conn.channel()
    deadline = time.monotonic() + timeout
    total = ch.queue_declare(queue, passive=True).method.message_count
    while ch.queue_declare(queue, passive=True).method.consumer_count == 0:
        if time.monotonic() > deadline:
            sys.exit("no consumer on %s within %ss" % (queue, timeout))
        time.sleep(0.01)
    start = time.monotonic()
    while ch.queue_declare(queue, passive=True).method.message_count > 0:
        if time.monotonic() > deadline:
            sys.exit("%s not drained within %ss" % (queue, timeout))
        time.sleep(0.02)
    took = time.monotonic() - start
    ch.queue_delete(queue)
    conn.close()
    print("%.3f %.1f" % (took, total / took))


if __name__ == "__main__":
    cmd, queue, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    if cmd == "fill":
        fill(queue, int(arg))
    elif cmd == "drain":
        drain(queue, float(arg))
    else:
        sys.exit(__doc__)
