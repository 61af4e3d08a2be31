"""Thin jobs: read config -> call the library -> write outputs -> log to MLflow. One module per job."""
