"""The orders context: catalogue stock and customers' orders."""
