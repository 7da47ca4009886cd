"""The one error the inventory loader raises: every problem of one file, listed at once."""


class InventoryError(Exception):
    """Every problem of one inventory file; str() lists them one per line."""

    def __init__(self, path, problems):
        self.path = path
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{path}: {count} problem{'s' if count != 1 else ''}, nothing was rendered or sent:"
        super().__init__("\n".join([head] + [f"  {p}" for p in self.problems]))
