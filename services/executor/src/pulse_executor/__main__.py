"""`python -m pulse_executor` runs the executor like the `pulse-executor` script."""

from pulse_executor.app import main

main()
