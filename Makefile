# Two commands for a fresh clone: `make reproduce` (the kit's main job on synthetic data)
# and `make test` (the whole suite). Both create .venv from requirements.txt when needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast reproduce xd imbalance-xd balanced long-schedule selection-bias imbalance imbalance-extended imbalance-1000 strength lab notebooks notebook-times benchmarks clean

venv: $(STAMP)

# Reinstalls only when the pins or the package metadata change (idempotent).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

# The notebooks run as a student gets them ("quick" profile, no figure written), outputs compared
# where a cell is marked NBVAL_CHECK_OUTPUT.
test: $(STAMP)
	CBMIL_PROFILE=quick CBMIL_FIGURES=0 $(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider

# The quick loop while editing: tests/ without the tests marked slow (over ~8 s each) and without the notebooks.
test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow" -p no:cacheprovider

# The main job: 5 synthetic worlds (one per seed) x MIL + 4 betas x 250 steps, D = 2048; < 15 min
# on 2 CPU cores in fp32 (docs/results.md). The studies pin fp32, the precision of the committed
# results: `--precision auto` would take bf16 on a CPU with bf16 units and give other digits.
reproduce: $(STAMP)
	$(PY) -m cbmil reproduce --data synthetic --preset full --seeds 5 --iterations 250 --save-scores --precision fp32 --out results --figures figures

# The study on XD-Violence's synthetic world (docs/xd-violence.md): MIL and CB-MIL at the paper's four
# betas, 5 worlds, tables with AP both ways and per-class AP; results/xd_violence/.
xd: $(STAMP)
	$(PY) -m cbmil reproduce --dataset xd --data synthetic --preset full --seeds 5 --iterations 250 --save-scores \
		--precision fp32 --out results/xd_violence --figures figures

# The dial on XD-Violence's synthetic world: levels on its own first-label counts (uniform, xd,
# extreme), per-class AP; 3 x 3 cells x 4 worlds, ci preset (13 min 20 s on 2 shared cores, fp32).
imbalance-xd: $(STAMP)
	$(PY) -m cbmil imbalance --dataset xd --preset ci --precision fp32 --out results/xd_violence/imbalance --figures figures

# The balanced-training control of notebook 05: the main job's worlds and seeds, the 810 abnormal
# training videos spread evenly over the 13 classes; MIL and CB-MIL beta = 0.9999 (3 min 19 s on 2 cores).
balanced: $(STAMP)
	$(PY) -m cbmil reproduce --data synthetic --preset full --seeds 5 --iterations 250 --balanced --betas 0.9999 \
		--precision fp32 --out results/balanced --figures none

# What picking the best *test* checkpoint adds: the main job again (same models), the test set
# evaluated every 25 steps; results/selection_bias/ (selection_bias.csv, Table 2 with best − final).
selection-bias: $(STAMP)
	$(PY) -m cbmil reproduce --data synthetic --preset full --seeds 5 --iterations 250 --eval-every 25 --precision fp32 \
		--out results/selection_bias --figures none

# The short schedule examined: the ci preset (D = 64), 5 worlds, 3,000 steps, the test set evaluated
# every 100 steps; notebooks 04 and 05 read its learning curves (results/long_schedule/). 23 min on 2
# CPU cores while other jobs shared them (18 CPU-minutes).
long-schedule: $(STAMP)
	$(PY) -m cbmil reproduce --data synthetic --preset ci --seeds 5 --iterations 3000 --eval-every 100 \
		--precision fp32 --out results/long_schedule --figures none

# When does balancing help? 3 x 3 grid of training-split imbalance x class overlap (ci preset).
imbalance: $(STAMP)
	$(PY) -m cbmil imbalance --preset ci --precision fp32 --out results/imbalance --figures figures

# The dial for both losses (ranking, top-3) and both remedies (class weights, class-balanced
# re-sampling), each against the same loss unbalanced (6 min on 2 cores, fp32).
imbalance-extended: $(STAMP)
	$(PY) -m cbmil imbalance --preset ci --precision fp32 --losses ranking topk --balance weights sampler \
		--out results/imbalance_extended --figures figures

# Schedule sensitivity: the dial's overlap 0 and 0.5 x ucf and extreme cells at 1,000 steps (4 x 250).
imbalance-1000: $(STAMP)
	$(PY) -m cbmil imbalance --preset ci --precision fp32 --levels ucf extreme --overlaps 0 0.5 --iterations 1000 \
		--losses ranking topk --balance weights sampler --out results/imbalance_1000 --figures none

# The generator examined: per-class strength vs AUC and localisation, with and without context.
strength: $(STAMP)
	$(PY) -m cbmil strength --preset ci --precision fp32 --out results/strength --figures figures

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

# Execute the notebooks in place as committed ("quick" profile: studies read from results/) and write
# their figures to figures/ (about a minute on 2 cores). `make notebooks NB_PROFILE=full` trains the
# studies again (05's is then `make reproduce` and `make balanced`; 04 and 05 print the expected times).
NB_PROFILE ?= quick
notebooks: $(STAMP)
	CBMIL_PROFILE=$(NB_PROFILE) CBMIL_FIGURES=1 $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=3600 notebooks/0*.ipynb

# Each notebook executed as a new user gets it (nothing set): run time and peak resident memory,
# written at the top of each notebook and into the README's walkthrough table (about a minute on 2 cores)
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
