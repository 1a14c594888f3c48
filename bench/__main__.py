"""``python -m bench``: the product checks of :mod:`rag.bench` and every study, one report."""

from bench.harness import main

raise SystemExit(main())
