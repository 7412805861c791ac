"""Runner layer for `ng_prepare_data`: validate datasets, compute metrics, collate training files."""
