"""The IMPlus reference server: presence in Redis, routing over RabbitMQ, logic from implus_proto."""
