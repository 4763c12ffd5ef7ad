"""Compare the tables two A/B runs saved, key by key, printing each key's verdict."""

from __future__ import annotations

import pandas as pd


def same_tables(a: dict, b: dict) -> bool:
    """True when `a` and `b` hold the same keys with exactly equal values (frames compared exactly).

    Prints one line per key: identical, DIFFERS (with the first 500 characters of the difference)
    or missing (in one run only).
    """
    ok = True
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b:
            print("missing", k)
            ok = False
            continue
        try:
            if isinstance(a[k], pd.DataFrame):
                pd.testing.assert_frame_equal(a[k], b[k], check_exact=True)
            else:
                assert a[k] == b[k], "differs"
            print(k, getattr(a[k], "shape", ""), "identical")
        except AssertionError as e:
            ok = False
            print(k, "DIFFERS", str(e)[:500])
    return ok
