"""`make demo` (`python -m examples.demo`): the FedAvg example on an embedded three-organization
network, from start to stop. MyOrg1MSP aggregates; MyOrg2MSP and MyOrg3MSP hold the data.

It starts the network in a temporary folder (logs there, not on the terminal), logs in to each
organization with the substra SDK, registers the assets, submits FedAvg with a live progress bar
of the tasks, prints accuracy by round beside the centralized baseline, saves a plot, and stops
the network, also on Ctrl-C. See `examples/demo/main.py` for the options.
"""
