"""Cohort processing: the full study pipeline over many studies, locally or on a Dask cluster.

* :mod:`.manifest` -- studies from a folder or a CSV manifest, validated before any work;
* :mod:`.settings` / :mod:`.pipeline` / :mod:`.steps` -- one study end to end into a case folder;
* :mod:`.resume` -- completion markers: finished studies are not recomputed;
* :mod:`.table` -- the tidy cohort table (Parquet + CSV) and the errors table;
* :mod:`.runner` -- Dask (LocalCluster of processes, or ``--scheduler`` for an existing cluster);
* :mod:`.cli` -- ``spine-mets run`` and ``spine-mets cohort``.

Importing this package imports neither dask, pandas nor torch (they load when used).
"""

from __future__ import annotations

from .manifest import Manifest, ManifestError, Study, load_manifest
from .settings import PipelineSettings

__all__ = ["Manifest", "ManifestError", "PipelineSettings", "Study", "load_manifest"]
