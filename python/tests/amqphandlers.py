"""AMQP handler classes for the consume tests (imported by dotted path)."""

import asyncio
import threading

from hurricane.amqp import BasicProperties
from hurricane.amqp.basehandler import TopicHandler, _AMQPConsumer


class Acking(TopicHandler):
    def on_message(self, _unused_channel, basic_deliver, properties, body):
        self.acknowledge_message(basic_deliver.delivery_tag)


class Raising(TopicHandler):
    def on_message(self, _unused_channel, basic_deliver, properties, body):
        raise ValueError("cannot handle %r" % body)


class Silent(TopicHandler):
    def on_message(self, _unused_channel, basic_deliver, properties, body):
        pass


class AsyncAcking(TopicHandler):
    async def on_message(self, _unused_channel, basic_deliver, properties, body):
        await asyncio.sleep(0)
        self.seen = threading.current_thread().name
        self.acknowledge_message(basic_deliver.delivery_tag)


class Publishing(TopicHandler):
    def on_message(self, channel, basic_deliver, properties, body):
        channel.basic_publish(
            "replies", properties.reply_to, "re: " + body.decode(),
            properties=BasicProperties(correlation_id=properties.correlation_id, delivery_mode=2, headers={"n": 1}),
        )
        self._channel.basic_reject(basic_deliver.delivery_tag, requeue=False)


class Detached(TopicHandler):
    """Settles and publishes from a thread that does not carry its context."""

    def on_message(self, _unused_channel, basic_deliver, properties, body):
        def later():
            self.acknowledge_message(basic_deliver.delivery_tag)
            self._channel.basic_publish("audit", "seen", b"x")

        t = threading.Thread(target=later)
        t.start()
        t.join()


class Rendezvous(TopicHandler):
    """Both messages wait for each other before acking through self._channel."""

    barrier = threading.Barrier(2, timeout=5)

    def on_message(self, _unused_channel, basic_deliver, properties, body):
        self.barrier.wait()
        self.acknowledge_message(basic_deliver.delivery_tag)


class Recording(TopicHandler):
    def on_message(self, _unused_channel, basic_deliver, properties, body):
        self.seen = (basic_deliver, properties, body)
        self.reject_message(basic_deliver.delivery_tag, requeue=True)


class Keyed(TopicHandler):
    def get_routing_keys(self, queue_name):
        return [queue_name + ".created", queue_name + ".deleted", self._host]


class Fanout(_AMQPConsumer):
    EXCHANGE_TYPE = "fanout"


class NotAHandler:
    pass
