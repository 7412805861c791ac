"""Dataset metrics exactly as NeMo Gym computes, formats and compares them."""

from gym_conform.core.metrics.accumulators import AvgMinMax, StringStats, round_metric
from gym_conform.core.metrics.compare import diff_metrics
from gym_conform.core.metrics.dataset_metrics import STANDARD_KEYS, DatasetMetrics, MixedExtraTypesError
from gym_conform.core.metrics.document import dumps_metrics, load_metrics, metrics_document

__all__ = [
    "STANDARD_KEYS",
    "AvgMinMax",
    "DatasetMetrics",
    "MixedExtraTypesError",
    "StringStats",
    "diff_metrics",
    "dumps_metrics",
    "load_metrics",
    "metrics_document",
    "round_metric",
]
