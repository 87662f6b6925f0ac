"""CPython's young-generation count is allocations less deallocations of any generation.

So freeing old objects hides new ones from it: a young collection can walk
far more objects than the threshold it was set off by.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    gc.disable()
    old = [[None] for _ in range(200_000)]
    gc.collect()  # the old lists now in the oldest generation
    new = [[None] for _ in range(50_000)]
    sys.stdout.write(f"before freeing old: count {gc.get_count()}, young list {len(gc.get_objects(0))}\n")
    del old  # 200,000 lists of the oldest generation freed
    sys.stdout.write(f"after freeing old:  count {gc.get_count()}, young list {len(gc.get_objects(0))}\n")
    del new


if __name__ == "__main__":
    main()
