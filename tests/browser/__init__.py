"""Browser tests of the HTML maps (a package, so that its conftest does not shadow tests/conftest.py)."""
