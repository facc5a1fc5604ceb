"""Inventory → intended configuration: the intent model, and templates per platform."""
