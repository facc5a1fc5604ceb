"""govnet lab: containerlab topologies on Linux network namespaces."""
