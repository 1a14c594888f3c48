"""Benchmark studies beside the package: ``python -m bench`` (``make bench``).

The product's own checks (cold start, warm latency, rebuilds) are :mod:`rag.bench`; the studies
here measure what informed the design: dense index kinds at scale (:mod:`bench.scale`), the web
chat's memory (:mod:`bench.app_memory`) and OpenMP thread settings (:mod:`bench.threads`).
:mod:`bench.harness` runs them all and writes ``docs/benchmarks.md``.
"""
