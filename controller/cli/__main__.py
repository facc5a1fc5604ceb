"""`python -m controller.cli`: the govnet CLI (how the SOC starts its collectors)."""

from controller.cli.main import run

run()
