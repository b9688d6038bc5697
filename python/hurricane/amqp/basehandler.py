"""The handler base classes of 1.6.2, without pika.

Go owns the broker connection, so the pika plumbing of 1.6.2 (connect,
declare, bind, QoS, reconnect) is gone; what a handler overrides or calls is
kept: the constructor and its attributes, ``on_message``,
``acknowledge_message``, ``reject_message``, ``get_routing_keys``,
``EXCHANGE_TYPE``. ``self._channel`` is the channel of the message being
handled on the calling thread or task, so one handler instance serves several
messages at once (``--prefetch`` above 1).
"""

import contextvars
from typing import List, Optional

from hurricane.amqp.loggers import logger

# The channel of the message being handled. The consume lane sets it per
# message; threads started by a handler see it only if they run in a copy of
# the handler's context (contextvars.copy_context().run).
current_channel = contextvars.ContextVar("hurricane_amqp_channel", default=None)

# Publishes outside any message go here (set by the consume lane).
_outside_channel = None

PROPERTY_NAMES = (
    "content_type", "content_encoding", "headers", "delivery_mode", "priority",
    "correlation_id", "reply_to", "expiration", "message_id", "timestamp",
    "type", "user_id", "app_id", "cluster_id",
)


class BasicProperties:
    """AMQP basic properties with pika's attribute names, for handlers that
    publish (``channel.basic_publish(..., properties=BasicProperties(...))``)
    without pika. pika's own ``BasicProperties`` works as well."""

    __slots__ = PROPERTY_NAMES

    def __init__(
        self,
        content_type=None,
        content_encoding=None,
        headers=None,
        delivery_mode=None,
        priority=None,
        correlation_id=None,
        reply_to=None,
        expiration=None,
        message_id=None,
        timestamp=None,
        type=None,
        user_id=None,
        app_id=None,
        cluster_id=None,
    ):
        self.content_type = content_type
        self.content_encoding = content_encoding
        self.headers = headers
        self.delivery_mode = delivery_mode
        self.priority = priority
        self.correlation_id = correlation_id
        self.reply_to = reply_to
        self.expiration = expiration
        self.message_id = message_id
        self.timestamp = timestamp
        self.type = type
        self.user_id = user_id
        self.app_id = app_id
        self.cluster_id = cluster_id

    def __eq__(self, other):
        if not isinstance(other, BasicProperties):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in PROPERTY_NAMES)

    def __repr__(self):
        set_ = ", ".join("%s=%r" % (n, getattr(self, n)) for n in PROPERTY_NAMES if getattr(self, n) is not None)
        return "BasicProperties(%s)" % set_


class _AMQPConsumer:
    """Hurricane's base AMQP consumer: subclass it (or ``TopicHandler``) and
    implement ``on_message``. Go consumes; this class handles the messages."""

    EXCHANGE_TYPE: str

    def __init__(
        self,
        queue_name: str,
        exchange_name: str,
        host: str,
        port: int,
        vhost: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
    ):
        self.should_reconnect = False
        self.was_consuming = False

        self._queue_name = queue_name
        self._exchange_name = exchange_name
        self._host = host
        self._port = port
        self._vhost = vhost or "/"
        self._username = username
        self._password = password

        self._closing = False
        self._consumer_tag = None
        self._consuming = False
        self._prefetch_count = 1

    @property
    def _channel(self):
        """The channel of the message being handled (None outside of one)."""
        return current_channel.get() or _outside_channel

    @_channel.setter
    def _channel(self, value):
        # 1.6.2 subclasses assign it in __init__ or on close; the channel
        # belongs to the message being handled, so the assignment is ignored.
        pass

    def get_routing_keys(self, queue_name: str) -> List[str]:
        """The routing keys to bind the queue with; none binds the queue
        with an empty routing key."""
        return []

    def on_message(self, _unused_channel, basic_deliver, properties, body: bytes) -> None:
        """Called for each message; sync handlers run in a worker thread,
        ``async def`` handlers on the worker's event loop."""
        logger.error(
            "Received message # %s from %s",
            basic_deliver.delivery_tag,
            properties.app_id,
        )
        self.reject_message(basic_deliver.delivery_tag)
        raise NotImplementedError("The on_message method must be implemented by a handler class")

    def acknowledge_message(self, delivery_tag) -> None:
        """Acknowledge the message delivery from the broker."""
        logger.debug("Acknowledging message %s", delivery_tag)
        channel = self._channel
        if channel:
            channel.basic_ack(delivery_tag)

    def reject_message(self, delivery_tag, requeue: bool = False) -> None:
        """Reject the message delivery from the broker (a nack), requeued
        only when asked; without requeue it goes to the dead-letter exchange
        if the queue has one."""
        logger.info("Rejecting message %s", delivery_tag)
        channel = self._channel
        if channel:
            channel.basic_nack(delivery_tag, requeue=requeue)

    def stop_consuming(self) -> None:
        """In 1.6.2 this cancelled the consumer; Go owns it here."""
        logger.warning(
            "stop_consuming has no effect: the hurricane binary owns the AMQP consumer; "
            "send it SIGTERM to stop consuming"
        )


class TopicHandler(_AMQPConsumer):
    """A consumer whose exchange is of type *topic*."""

    EXCHANGE_TYPE = "topic"
