"""The peer ``make bench`` measures ``POST /api/transfers/`` against: the same transfer written
the way a Django developer would without event sourcing. Installed by ``bench.settings`` only."""
