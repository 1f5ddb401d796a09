"""Encryption of personal data at rest: Fernet tokens with key rotation (crypto) and the model field that uses them.

A foundation package: commerce's models and the privacy layer both build on it, and it imports neither.
"""
