"""Item response theory for adaptive tests (docs/adaptive.md).

Pure numpy/scipy: no Django imports in this package, so that the engine can be
tested, benchmarked and calibrated on arrays alone. Django code (services, tasks)
turns questions and answers into these arrays and back.
"""
