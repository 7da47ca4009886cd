"""Every config a class implies, rendered from deploy/templates/ (and the limits as each mechanism takes them)."""
