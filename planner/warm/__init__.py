"""A warm planner process (opt-in, like dmypy): `planner warm start`, then commands run in a fork of it, imports paid once."""
