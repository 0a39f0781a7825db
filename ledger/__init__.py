"""The ledger context: accounts and the money that moves between them."""
