"""Inventory → containerlab topology (plus the files its nodes bind)."""
