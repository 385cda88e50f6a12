"""Paper 2 (Wen, Dang and Lyu 2024, "RNNs are not Transformers (Yet)"): IsTree with and without
chain of thought, and with in-context retrieval.

The study: it trains and scores paper 2's language models on the IsTree task. The task itself
(vocabulary, graph sampler, search tool, the three formats) is :mod:`separations.tasks.istree`; the
language models (Transformer, Mamba, hybrid) at the paper's sizes are
:mod:`separations.models.lm`; the resumable runs and the job command line are the shared runner's
(:mod:`separations.runner`). Modules here, one purpose each:

- :mod:`.generate`  batched greedy generation, answering searches with the tool
- :mod:`.evaluate`  generation accuracy and teacher-forced exact match
- :mod:`.schema`    the declared Parquet schema of the results
- :mod:`.train`     one training job (``python -m separations.istree.train``)
- :mod:`.aggregate` all jobs of a sweep in one table (``python -m separations.istree.aggregate``)
- :mod:`.sweeps`    the ``istree`` block of config.yaml as a job table

The task is registered as ``istree`` in :mod:`separations.tasks` (evaluation sets and dumps).
"""
