"""Changes to the network: their blast radius (pure) and, later, their records."""
