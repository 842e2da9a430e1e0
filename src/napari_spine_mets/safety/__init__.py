"""Guards that keep clinical work safe: memory estimates, file names, case locks, HTML escaping.

Each module has one job and imports nothing heavy, so the readers and the case store can
call them before they allocate or write anything.
"""
