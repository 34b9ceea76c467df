"""remedlab's functional faults: the actions of `FunctionalChaos`, which change an app through the
cluster API (and its pods, through exec) rather than through a fault runtime, so that they work on
every cluster. One module per action; `registry.py` lists them."""
