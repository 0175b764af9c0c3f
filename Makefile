# Two commands for a fresh clone: `make reproduce` (the kit's main job on synthetic data)
# and `make test` (the whole suite). Both create .venv from requirements.txt when needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= ci

.PHONY: venv test reproduce lab notebooks benchmarks clean

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

reproduce: $(STAMP)
	$(PY) -m cbmil reproduce --data synthetic --preset full --seeds 3 --iterations 1000 --out results

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

notebooks: $(STAMP)
	CBMIL_PROFILE=full $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=3600 notebooks/0*.ipynb

# Speed figures of README "Performance" (~2 min; bench_prepare writes ~3 GB to a temporary folder)
benchmarks: $(STAMP)
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_prepare.py
	$(PY) benchmarks/bench_synthetic.py

clean:
	rm -rf $(VENV)
