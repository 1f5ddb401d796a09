"""Builders of test data beyond single rows (those are in tests/factories.py): stores with planted demand,
stored forecast runs, stocked products, engine inputs. Not collected by pytest; tests import them."""
