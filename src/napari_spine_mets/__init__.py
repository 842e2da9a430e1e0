"""napari-spine-mets: decision support for spine-metastasis imaging in napari.

Importing the package loads no Qt, torch or napari: the core is usable from a
notebook, the CLI, a Dask worker and the tests alike.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
