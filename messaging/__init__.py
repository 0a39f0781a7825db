"""The NATS side: the embedded server, connections, and (with the messaging issue) the relay."""
