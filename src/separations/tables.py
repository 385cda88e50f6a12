"""The result tables that the report and figures read, by name, with their declared schemas.

Torch-free on purpose: every figure is its own process, and what it imports is start-up time
(:func:`separations.results.load_results` checks each named table against its schema).
"""

from __future__ import annotations

from .constructions.schema import CONSTRUCTIONS_SCHEMA
from .istree.schema import ISTREE_SCHEMA
from .results import METRICS_SCHEMA

#: the declared schema of each result table of config.yaml `results` (and the critical-width
#: study's), by name
RESULT_SCHEMAS = {
    "metrics": METRICS_SCHEMA,
    "critical_width": METRICS_SCHEMA,
    "recall": METRICS_SCHEMA,
    "istree": ISTREE_SCHEMA,
    "constructions": CONSTRUCTIONS_SCHEMA,
}
