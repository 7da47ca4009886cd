"""A bot that cannot start: its token is missing."""
import os
import sys

if not os.environ.get("BOT_TOKEN"):
    print("bot: BOT_TOKEN is not set, cannot log in", flush=True)
    sys.exit(1)
