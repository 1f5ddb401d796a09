"""Partner API endpoints (thin: validate with a serializer, call a service or selector, serialize)."""
