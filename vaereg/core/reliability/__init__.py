"""A run that fails well: the step guard (take, skip or stop each update), non-finite
checks, Ctrl-C and SIGTERM, and the message and exit code a run ends with."""
