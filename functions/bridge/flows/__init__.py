"""Use cases. Each flow receives its adapters as arguments so tests can inject them."""
