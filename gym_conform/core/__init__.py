"""Core layer: schemas, config, data and metrics. Imports neither pytest nor any front end."""
