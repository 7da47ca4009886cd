"""What a team does to its own hacknode, as its own UNIX user: deploy, restart, config, backup, git."""
