"""API builder, gateway, consumer keys, quotas, dynamic masking and metering."""
