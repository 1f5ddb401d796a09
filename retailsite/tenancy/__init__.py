"""Tenancy: stores (tenants), staff memberships, the current-tenant context and row-level security."""
