"""``gridwatch chaos``: break the pipeline on purpose on a real broker and count what was lost or doubled.

``checker`` is the pure comparison (a run's stored events and final alerts against the input and a fault-free
reference run); ``faults`` the fault injectors; ``runner`` a run end to end.
"""
