"""Reading and writing scans: DICOM, NIfTI, and the geometry convention they share."""
