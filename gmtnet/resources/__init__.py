"""Files shipped with the package (datasets, weights), located with :mod:`importlib.resources`."""
