"""Thin jobs: read config -> call the library -> write outputs -> log to MLflow. One module per job.

The wiring layer, with :mod:`loyalist.cli`: the ``loyalist`` commands and the scheduled pipeline definitions in
the checkout's ``pipelines/`` folder call these jobs; the library below them reads no YAML, environment or clock.
"""
