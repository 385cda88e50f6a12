"""Paper 2 (Wen, Dang and Lyu 2024, "RNNs are not Transformers (Yet)"): IsTree with and without
chain of thought, and with in-context retrieval.

Modules, one purpose each:

- :mod:`.vocab`     token ids and strings
- :mod:`.graphs`    the "binary" graph sampler
- :mod:`.search`    the regular-expression search tool (in-context retrieval)
- :mod:`.formats`   the nocot / cot / retrieval sequences and loss masks
- :mod:`.lm`        the language models (Transformer, Mamba, hybrid) at the paper's sizes
- :mod:`.generate`  batched greedy generation, answering searches with the tool
- :mod:`.evaluate`  generation accuracy and teacher-forced exact match
- :mod:`.schema`    the declared Parquet schema of the results
- :mod:`.train`     one training job (``python -m separations.retrieval.train``)
- :mod:`.aggregate` all jobs of a sweep in one table (``python -m separations.retrieval.aggregate``)
- :mod:`.sweeps`    the ``retrieval`` block of config.yaml as a job table

The task is registered as ``istree`` in :mod:`separations.tasks` for data dumps.
"""
