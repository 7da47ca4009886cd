"""What every job uses: commands built as values, the one runner, SSH and fan-out, where things live, errors."""
