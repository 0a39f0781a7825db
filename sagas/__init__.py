"""The saga engine: a saga is a list of steps, each beside its compensation."""
