# Two entry points (see README): `make run` and `make test`. Both install what they need first,
# and both are idempotent: the virtual environment is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
ARTIFACTS := artifacts
CLASSIFIER := $(ARTIFACTS)/classifier/model.joblib
EMBEDDER := model/assets/static-e5-vi/model.safetensors
DEDUP_RULE := $(ARTIFACTS)/dedup/rule.json
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install models run test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch pinned first: the CPU wheel on this machine's disk, never a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[service,training,test]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

$(CLASSIFIER): $(STAMP) $(EMBEDDER) data/records/*.jsonl data/splits.csv model/classify.py model/features.py
	$(BIN)/sangkien train --out $(ARTIFACTS)/classifier

$(DEDUP_RULE): $(STAMP) $(EMBEDDER) data/pairs.jsonl data/copies.jsonl model/dedup/rule.py
	$(BIN)/sangkien train-dedup --out $(ARTIFACTS)/dedup

models: $(CLASSIFIER) $(DEDUP_RULE)

run: install models
	$(BIN)/python -m service --host $(HOST) --port $(PORT)

# The workbench's browser test needs Debian's chromium + chromium-driver: installed here when
# missing and possible (root with apt-get, as in CI); otherwise that one test skips, saying why.
test: install
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; }; }; } || \
	  echo "note: chromium/chromium-driver not installed; the workbench browser test will be skipped"
	$(BIN)/python -m pytest -q

bench: install models
	$(BIN)/python benchmarks/segmentation.py
	$(BIN)/python benchmarks/embeddings.py
	$(BIN)/python benchmarks/classifier.py
	$(BIN)/python benchmarks/dedup.py

clean:
	rm -rf $(VENV) $(ARTIFACTS)
