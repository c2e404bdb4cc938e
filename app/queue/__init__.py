"""The durable work queue: inbound events are persisted in batches, then leased to workers."""
