"""`python -m ssvae` runs the command line, for environments without the `ssvae` script on PATH."""

from ssvae.cli import main

main(prog_name="ssvae")
