"""The cron job: takes two seconds, then appends "START END RELEASE" (epoch seconds) to ~/ticks.txt."""
import os
import time
from pathlib import Path

start = time.time()
time.sleep(2)
release = Path("RELEASE").read_text().strip()
with open(Path(os.environ["HOME"]) / "ticks.txt", "a") as ticks:
    ticks.write(f"{start:.3f} {time.time():.3f} {release}\n")
print(f"tick of release {release}")
