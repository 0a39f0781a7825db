"""The shared kernel: small pure-Python pieces every bounded context agrees on.

Nothing here imports Django or NATS, so applications and sagas may use it.
"""
