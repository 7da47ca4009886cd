"""Provisioning a class: the server's facts, the plan against them, the bundle that carries it, the run."""
