"""The core API: every operation, usable from Python; the adapters only translate."""
