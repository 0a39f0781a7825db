"""The compliance context: screening transfers, raising and reviewing alerts."""
