# Two commands for a fresh clone: `make reproduce` (the kit's main job on synthetic data)
# and `make test` (the whole suite). Both create .venv from requirements.txt when needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= ci

.PHONY: venv test test-fast reproduce selection-bias imbalance strength lab notebooks notebook-times benchmarks clean

venv: $(STAMP)

# Reinstalls only when the pins or the package metadata change (idempotent).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

test: $(STAMP)
	CBMIL_PROFILE=ci $(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider

# The quick loop while editing: tests/ without the tests marked slow (over ~8 s each) and without the notebooks.
test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider

# The main job: 5 synthetic worlds (one per seed) x MIL + 4 betas x 250 steps, D = 2048; < 15 min
# on 2 CPU cores in fp32 (docs/results.md). The studies pin fp32, the precision of the committed
# results: `--precision auto` would take bf16 on a CPU with bf16 units and give other digits.
reproduce: $(STAMP)
	$(PY) -m cbmil reproduce --data synthetic --preset full --seeds 5 --iterations 250 --save-scores --precision fp32 --out results --figures figures

# What picking the best *test* checkpoint adds: the main job again (same models), the test set
# evaluated every 25 steps; results/selection_bias/ (selection_bias.csv, Table 2 with best − final).
selection-bias: $(STAMP)
	$(PY) -m cbmil reproduce --data synthetic --preset full --seeds 5 --iterations 250 --eval-every 25 --precision fp32 \
		--out results/selection_bias --figures none

# When does balancing help? 3 x 3 grid of training-split imbalance x class overlap (ci preset).
imbalance: $(STAMP)
	$(PY) -m cbmil imbalance --preset ci --precision fp32 --out results/imbalance --figures figures

# The generator examined: per-class strength vs AUC and localisation, with and without context.
strength: $(STAMP)
	$(PY) -m cbmil strength --preset ci --precision fp32 --out results/strength --figures figures

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

notebooks: $(STAMP)
	CBMIL_PROFILE=full $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=3600 notebooks/0*.ipynb

# Each notebook's run time (full: from the last `make notebooks`; ci: executed now, ~5 min), written at
# the top of each notebook
notebook-times: $(STAMP)
	$(PY) benchmarks/notebook_times.py --write

# Speed figures of docs/performance.md: medians of >= 5 timings with min and max (~5 min on 2 cores;
# bench_prepare writes ~3 GB to a temporary folder)
benchmarks: $(STAMP)
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_prepare.py
	$(PY) benchmarks/bench_synthetic.py

clean:
	rm -rf $(VENV)
