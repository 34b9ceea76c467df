"""Agents: the client side that diagnoses and repairs, talking to the server over HTTP only."""
