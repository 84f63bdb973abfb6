"""The search runtime: child training, strategies, the store, executors."""
