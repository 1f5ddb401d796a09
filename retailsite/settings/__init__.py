"""Settings packages: base (environment-driven), production (hardened), test."""
