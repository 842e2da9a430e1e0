"""Importing this module imports what ``segment_vertebrae`` uses, so a worker can do it early.

The napari plugin starts its segmentation worker process in the background and imports
this there (``offload.warm_up``): the user's first "Segment" then does not wait for torch,
scipy.ndimage and scikit-image's watershed to load (about 2.3 s on a 2-core CPU, 0.6 s of
it the libraries the refinement imports lazily).
"""

from __future__ import annotations

import scipy.ndimage  # noqa: F401
import torch  # noqa: F401
from skimage.morphology import convex_hull_image  # noqa: F401
from skimage.segmentation import expand_labels, watershed  # noqa: F401

from . import inference, labelling, refine, rib_anchor  # noqa: F401
