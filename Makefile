SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
SPACY_MODEL := build/spacy_en
# The all-MiniLM-L6-v2 sentence encoder (components/sentence_encoder.py), from PyPI, and
# its export to ONNX that the component runs.
ENCODER := build/minilm
MODEL := models/assistant.tar.gz
# Made from the format and topic registries in data/knowledge.yml (assistant/content.py).
GENERATED := data/nlu/formats.yml data/topic_rules.yml
# Content read at run time (answers, recommendation rules, dialog wording) is not training input.
TRAINING_FILES := config.yml domain.yml $(wildcard components/*.py) $(GENERATED) $(shell find data -name '*.yml' ! -path data/knowledge.yml ! -path data/recommendation.yml ! -path data/form_answers.yml ! -path data/handoff.yml)

# system-packages: Debian's chromium and nginx, for the tests and run-cluster only.
.PHONY: install system-packages train run run-cluster shell lint test-unit test test-cluster test-deploy validate test-stories nlu-report bench bench-insights lock clean

install: $(VENV)/.installed $(SPACY_MODEL)/meta.json $(ENCODER)/encoder.onnx node_modules/.package-lock.json

# The runtime (requirements.lock) and the test and lint tools (requirements-dev.lock).
$(VENV)/.installed: requirements.lock requirements-dev.lock
	@test -x $(BIN)/python || { py=$$(scripts/find-python310) && $$py -m venv $(VENV); }
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

# The chat widget's front-end packages (deep-chat), exactly as package-lock.json pins them.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(SPACY_MODEL)/meta.json: $(VENV)/.installed scripts/build_spacy_pipeline.py
	$(BIN)/python scripts/build_spacy_pipeline.py $(SPACY_MODEL)

# Pinned version and sha256 (scripts/fetch_encoder.py); does nothing when already there.
$(ENCODER)/model.safetensors: $(VENV)/.installed scripts/fetch_encoder.py
	$(BIN)/python scripts/fetch_encoder.py $(ENCODER)
	touch $@

# TensorFlow graph -> ONNX with tf2onnx, checked against TensorFlow (about a minute).
$(ENCODER)/encoder.onnx: $(ENCODER)/model.safetensors scripts/export_encoder.py components/encoder_export.py
	$(BIN)/python scripts/export_encoder.py $(ENCODER)
	touch $@

train: $(MODEL)

# Written only when its content changes, so that editing an answer does not retrain.
$(GENERATED) &: data/knowledge.yml assistant/content.py $(VENV)/.installed
	$(BIN)/python -m assistant.content

# Rasa reuses its cache for the parts of the model whose inputs did not change.
$(MODEL): $(VENV)/.installed $(SPACY_MODEL)/meta.json $(ENCODER)/encoder.onnx $(TRAINING_FILES)
	$(BIN)/rasa train --out models --fixed-model-name assistant
	touch $@

run: install train
	scripts/run

# Rasa replicas + action servers behind nginx, PostgreSQL tracker store, Redis lock
# store (docs/production.md).
run-cluster: install train system-packages
	scripts/run-cluster

shell: install train
	scripts/run --shell

# Mistakes in the Python code (ruff; rules in pyproject.toml).
lint: $(VENV)/.installed
	$(BIN)/ruff check .

# The edit-test loop: no server, no trained model, no database; under a minute.
test-unit: $(VENV)/.installed
	$(BIN)/pytest -q -m "not integration and not slow" tests

# Everything (test-unit's tests too, and those marked `integration`).
test: install train system-packages
	$(BIN)/pytest tests

# The production-serving tests alone (they are part of `make test` too): needs nginx,
# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
test-cluster: install train system-packages
	$(BIN)/pytest tests/test_cluster.py tests/test_redis_lock.py tests/test_faults.py tests/test_bad_input.py

# The Compose deployment for real: installs and starts Docker if needed, builds the
# images (base images stood in for by Debian-built ones, cached), starts the stack,
# checks it through nginx, removes it; validates the Kubernetes manifests (docs/deploy.md).
test-deploy: install train system-packages
	scripts/test-deploy

# 5-fold cross-validation of the NLU pipeline (a report, not a gate; a few minutes).
nlu-report: install
	$(BIN)/rasa test nlu --nlu data/nlu --cross-validation --folds 5 --out results/cross-validation

# The project against Rasa's starter bot (docs/performance.md); BENCH_ARGS=--quick for a short run.
bench: install
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# The insights page and JSON over a store of 100,000 conversations (docs/insights.md).
bench-insights: install
	$(BIN)/python scripts/bench_insights.py $(BENCH_ARGS)

system-packages:
	@scripts/install-system-packages

# After pip-installing a changed requirements*.in: writes both lock files from .venv.
lock:
	$(BIN)/python scripts/lock.py

clean:
	rm -rf $(VENV) build models results .rasa node_modules
