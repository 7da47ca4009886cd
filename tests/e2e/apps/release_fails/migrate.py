"""A migration that fails, as one does when the data does not fit the new schema."""
import sys

print("migrate: applying 0001_initial ... ok")
print("migrate: applying 0002_add_votes ... column votes exists already", file=sys.stderr)
sys.exit(3)
