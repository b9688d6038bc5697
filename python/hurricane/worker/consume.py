"""The consume lane: AMQP messages from Go, run by the project's handler.

Go consumes from the broker and sends each delivery as a MESSAGE frame, at
most ``threads`` (the prefetch) at a time. A sync ``on_message`` runs in a
thread pool of that size, an ``async def`` one on an event loop thread. The
handler settles through a channel proxy that sends SETTLE and PUBLISH frames
on the message's stream; MESSAGE_DONE follows once the handler has returned
or raised, and Go settles what the handler left unsettled.
"""

import asyncio
import contextvars
import threading
import traceback

from . import log, protocol
from .data import Lane
from .loop import new_loop

_NO_ERROR = {}  # MESSAGE_DONE of a handler that returned



class HandlerError(Exception):
    """The handler class cannot be used: message says why, hint what to do."""

    def __init__(self, message, hint):
        super().__init__(message)
        self.message = message
        self.hint = hint


def load_handler(path):
    """Import the handler class at a dotted path and check its base class."""
    from django.utils.module_loading import import_string

    from hurricane.amqp.basehandler import _AMQPConsumer

    try:
        cls = import_string(path)
    except Exception as exc:
        raise HandlerError(
            "cannot import handler %r: %s: %s" % (path, type(exc).__name__, exc),
            "pass the dotted path of a handler class, importable from the project directory or --pythonpath",
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, _AMQPConsumer)):
        raise HandlerError(
            "The type %r is not subclass of _AMQPConsumer" % (cls,),
            "derive the handler class from hurricane.amqp.basehandler.TopicHandler",
        )
    return cls


def new_handler(cls, amqp):
    """An instance as 1.6.2 made it, from the broker settings Go passes."""
    return cls(
        amqp.get("queue"), amqp.get("exchange"), amqp.get("host"), amqp.get("port"),
        amqp.get("vhost"), amqp.get("username"), amqp.get("password"),
    )


def describe_handler(handler, **amqp):
    """The answer to OP_HANDLER: what Go needs to declare and bind."""
    cls = load_handler(handler)
    return {
        "routing_keys": list(new_handler(cls, amqp).get_routing_keys(amqp.get("queue")) or []),
        "exchange_type": getattr(cls, "EXCHANGE_TYPE", None) or "topic",
    }


class Deliver:
    """What pika's ``Basic.Deliver`` method frame tells a handler."""

    __slots__ = ("delivery_tag", "redelivered", "exchange", "routing_key", "consumer_tag")

    def __init__(self, meta):
        self.delivery_tag = meta.get("delivery_tag", 0)
        self.redelivered = bool(meta.get("redelivered", False))
        self.exchange = meta.get("exchange", "")
        self.routing_key = meta.get("routing_key", "")
        self.consumer_tag = meta.get("consumer_tag", "")

    def __repr__(self):
        return "<Basic.Deliver(%s)>" % ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__)


def properties_from(meta):
    from hurricane.amqp.basehandler import PROPERTY_NAMES, BasicProperties

    props = meta.get("properties") or {}
    return BasicProperties(**{n: props[n] for n in PROPERTY_NAMES if n in props})


def properties_to(properties):
    """pika's BasicProperties (or ours, or a dict) as the PUBLISH JSON."""
    from hurricane.amqp.basehandler import PROPERTY_NAMES

    if properties is None:
        return {}
    get = properties.get if isinstance(properties, dict) else lambda n: getattr(properties, n, None)
    out = {}
    for name in PROPERTY_NAMES:
        if name == "cluster_id":
            continue  # deprecated in AMQP 0-9-1; amqp091-go has no field for it
        value = get(name)
        if value is None:
            continue
        if name in ("delivery_mode", "priority", "timestamp"):
            value = int(value.timestamp()) if hasattr(value, "timestamp") else int(value)
        out[name] = value
    return out


class Channel:
    """The ``channel`` a handler gets: the pika calls a handler makes,
    sent to Go on the stream of its message."""

    def __init__(self, lane, sid):
        self._lane = lane
        self._sid = sid
        self._done = False  # MESSAGE_DONE sent: settles are too late
        # Frames the handler made, sent with its MESSAGE_DONE in one write
        # (as 1.6.2's pika calls went out once the handler returned).
        self._out = []

    def basic_ack(self, delivery_tag=0, multiple=False):
        self._settle("ack", delivery_tag, False, multiple)

    def basic_nack(self, delivery_tag=0, multiple=False, requeue=True):
        self._settle("nack", delivery_tag, requeue, multiple)

    def basic_reject(self, delivery_tag, requeue=True):
        self._settle("reject", delivery_tag, requeue, False)

    def basic_publish(self, exchange, routing_key, body, properties=None, mandatory=False):
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError("body must be bytes or str, not %s" % type(body).__name__)
        meta = {
            "exchange": exchange or "",
            "routing_key": routing_key or "",
            "mandatory": bool(mandatory),
            "properties": properties_to(properties),
        }
        self._lane.send(self, protocol.encode_meta(protocol.PUBLISH, self._sid, meta, body), publish=True)

    def _settle(self, op, delivery_tag, requeue, multiple):
        meta = {"delivery_tag": int(delivery_tag), "op": op, "requeue": bool(requeue), "multiple": bool(multiple)}
        self._lane.send(self, protocol.json_frame(protocol.SETTLE, self._sid, meta), settle=meta)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            "the channel offers basic_ack, basic_nack, basic_reject and basic_publish only "
            "(hurricane's Go process owns the AMQP connection), not %r" % name
        )

    def __repr__(self):
        return "<hurricane.amqp channel stream=%d>" % self._sid


class ConsumeLane(Lane):
    """AMQP messages: sync handlers run inline by the leader thread (the
    leader/follower set of data.Lane: a handler that blocks hands the lane on,
    up to ``threads`` handlers at once, which is the prefetch); async
    handlers on an event loop thread."""

    def __init__(self, sock, handler, threads):
        from asgiref.sync import iscoroutinefunction
        from django.db import close_old_connections

        from hurricane.amqp import basehandler

        super().__init__(sock, threads)
        self.handler = handler
        self.threads = self.max_threads
        self.close_old_connections = close_old_connections
        self.is_async = iscoroutinefunction(handler.on_message)
        self.loop = None
        self.async_pending = 0  # guarded by mu
        if self.is_async:
            self.loop = new_loop()
            threading.Thread(target=self.loop.run_forever, name="hurricane-loop", daemon=True).start()
        handler._prefetch_count = self.threads
        handler._consuming = handler.was_consuming = True
        basehandler._outside_channel = Channel(self, 0)

    # ---- sending

    def send(self, channel, data, settle=None, publish=False):
        """Queue a handler's frame for its MESSAGE_DONE write; after it (or
        outside any message) send a publish at once and drop a settle (it
        would settle a tag Go no longer expects)."""
        with self.send_mu:
            if not channel._done and channel._sid:
                channel._out.append(data)
                return
        if settle is not None:
            log.warn(
                "settle outside of the message's handler dropped: call it from on_message, "
                "or from a thread started in a copy of its context (contextvars.copy_context().run)",
                op=settle["op"], delivery_tag=settle["delivery_tag"],
            )
            return
        if publish and channel._done and channel._sid:
            data = protocol.frame(protocol.PUBLISH, 0, data[protocol.HEADER_SIZE:])
        self.send_now(data)

    def _done(self, channel, error, now=False):
        """End a message: its queued frames and MESSAGE_DONE, in the leader's
        next batched write (or now, from the event loop)."""
        body = {"error": error} if error is not None else _NO_ERROR
        with self.send_mu:
            channel._done = True
            out = channel._out
            channel._out = []
        out.append(protocol.json_frame(protocol.MESSAGE_DONE, channel._sid, body))
        data = b"".join(out)
        if now:
            self.send_now(data)
        else:
            self.defer(data)

    # ---- statistics for the control lane

    def stats(self):
        return {"pending": len(self.pending) + self.async_pending, "active": self.active, "threads": self.nthreads}

    # ---- reading

    def run(self):
        self._closing_old_connections()
        super().run()

    def on_close_locked(self):
        from hurricane.amqp import basehandler

        if basehandler._outside_channel is not None and basehandler._outside_channel._lane is self:
            basehandler._outside_channel = None

    def batch_done(self):
        # Each message runs between close_old_connections() calls, as a
        # request does; a batch of messages shares them.
        self._closing_old_connections()

    def _dispatch(self, ftype, flags, sid, payload):
        if ftype != protocol.MESSAGE:
            log.warn("unexpected frame on the consume lane", type=ftype)
            return
        channel = Channel(self, sid)
        try:
            meta, body = protocol.decode_meta(payload)
            deliver = Deliver(meta)
            properties = properties_from(meta)
        except Exception as exc:
            log.error("malformed message frame", stream=sid, error=str(exc))
            self._done(channel, "malformed message frame: %s" % exc)
            return
        item = (channel, deliver, properties, body)
        if self.is_async:
            with self.mu:
                self.async_pending += 1
            asyncio.run_coroutine_threadsafe(self._handle_async(*item), self.loop)
        else:
            self.pending.append(item)

    def run_item(self, item):
        contextvars.copy_context().run(self._handle_sync, *item)

    def _closing_old_connections(self):
        try:
            self.close_old_connections()
        except Exception:
            log.error("closing old database connections failed", traceback=traceback.format_exc())

    # ---- running the handler

    def _start(self, channel, deliver):
        from hurricane.amqp.basehandler import current_channel

        current_channel.set(channel)
        self.handler._consumer_tag = deliver.consumer_tag

    def _failed(self, deliver, error):
        log.error(
            "message handler failed",
            delivery_tag=deliver.delivery_tag, routing_key=deliver.routing_key, traceback=error,
        )

    def _handle_sync(self, channel, deliver, properties, body):
        self._start(channel, deliver)
        error = None
        try:
            self.handler.on_message(channel, deliver, properties, body)
        except BaseException:
            error = traceback.format_exc()
            self._failed(deliver, error)
        self._done(channel, error)

    async def _handle_async(self, channel, deliver, properties, body):
        from asgiref.sync import sync_to_async

        with self.mu:
            self.async_pending -= 1
            self.active += 1
        # The handler's ORM calls run in sync_to_async's thread, so its
        # connections are closed there, as Django's ASGI handler does.
        self._start(channel, deliver)
        error = None
        try:
            await sync_to_async(self.close_old_connections)()
            try:
                await self.handler.on_message(channel, deliver, properties, body)
            finally:
                await sync_to_async(self.close_old_connections)()
        except BaseException:
            error = traceback.format_exc()
            self._failed(deliver, error)
        self._done(channel, error, now=True)
        with self.mu:
            self.active -= 1
