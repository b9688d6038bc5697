"""AMQP handlers for ``hurricane consume HANDLER``, compatible with 1.6.2.

In 1.6.2 the handler class owned a pika connection. Here the Go binary owns
the connection (amqp091-go): it declares the exchange and queue, binds the
routing keys from ``get_routing_keys``, applies the prefetch, reconnects, and
hands each delivery to ``on_message`` in a worker process. The channel a
handler sees is a proxy that sends acks, nacks, rejects and publishes back to
Go over the worker bridge, so pika is not needed (and never imported).
"""

from hurricane.amqp.loggers import logger, metrics_log  # noqa: F401
from hurricane.amqp.basehandler import BasicProperties, TopicHandler, _AMQPConsumer  # noqa: F401
