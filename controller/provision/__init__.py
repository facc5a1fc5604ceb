"""Provisioning: intended vs running configuration, plans, apply with rollback."""
