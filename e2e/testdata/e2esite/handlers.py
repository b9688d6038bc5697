"""AMQP handlers for the consume tests, written against the 1.6.2 API
(the SPEC §7 example, unchanged imports)."""
import os
import time

from hurricane.amqp.basehandler import TopicHandler


def _record(body, basic_deliver):
    # One line per handled message: the body and whether it was a redelivery.
    with open(os.environ["E2E_RECORD"], "a") as f:
        f.write("%s %d\n" % (body.decode("utf-8"), int(basic_deliver.redelivered)))


class RecordingHandler(TopicHandler):
    """Acknowledges every message; a message "poison" raises."""

    def on_message(self, _unused_channel, basic_deliver, properties, body):
        if body == b"poison":
            raise ValueError("poison message")
        delay = os.environ.get("E2E_HANDLER_SLEEP")
        if delay:
            time.sleep(float(delay))
        _record(body, basic_deliver)
        self.acknowledge_message(basic_deliver.delivery_tag)


class ForgetfulHandler(TopicHandler):
    """Returns without settling."""

    def on_message(self, _unused_channel, basic_deliver, properties, body):
        _record(body, basic_deliver)


class NotAHandler:
    pass
