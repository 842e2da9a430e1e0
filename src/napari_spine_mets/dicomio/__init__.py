"""DICOM interoperability: DICOM-SEG and SR export/import, UIDs, de-identification, PACS.

Submodules (each imports pydicom, highdicom or pynetdicom only inside its functions):

* :mod:`.seg_export` / :mod:`.seg_import`: label maps <-> DICOM Segmentation objects;
* :mod:`.sr_export`: measurements as a TID 1500 Structured Report, CSV and JSON;
* :mod:`.uids`: valid, deterministic UIDs for series whose UIDs were blanked;
* :mod:`.deidentify`: the de-identification profile used by every export;
* :mod:`.pacs_config` / :mod:`.pacs`: PACS settings and C-ECHO/FIND/GET/MOVE/STORE.

See ``docs/dicom.md``.
"""
