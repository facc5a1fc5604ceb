"""govnet controller: inventory model, allocation, rendering, provisioning, CLI."""

__version__ = "0.1.0"
