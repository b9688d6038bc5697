"""The trivial acknowledging handler both consumers run (1.6.2 API)."""
from hurricane.amqp.basehandler import TopicHandler


class AckHandler(TopicHandler):
    def on_message(self, _unused_channel, basic_deliver, properties, body):
        self.acknowledge_message(basic_deliver.delivery_tag)
