"""Plan China's compact county medical communities and city medical groups."""

__version__ = "0.1.0"
