# Two commands for a fresh machine: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SYSSTAMP := var/.system-deps
APT_PACKAGES := chromium postgresql fonts-noto-cjk

.PHONY: run test install system-deps lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the browser and PostgreSQL tests need; skipped (with a message) where apt-get is missing
# or we are not root — those tests then skip with a printed reason.
system-deps:
	@mkdir -p var
	@if [ -f $(SYSSTAMP) ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	      || echo "warning: apt-get could not install$$missing; browser/PostgreSQL tests will be skipped"; \
	  fi; \
	  touch $(SYSSTAMP); \
	else echo "note: not root or no apt-get; browser/PostgreSQL tests will be skipped"; fi

run: install
	$(BIN)/zhibiao run corpus/raw --out out/ --db sqlite:///var/zhibiao.sqlite; status=$$?; \
	echo "Open the report: file://$$(pwd)/out/report.html"; \
	echo "Workbench: $(BIN)/zhibiao serve --db sqlite:///var/zhibiao.sqlite  (then open http://127.0.0.1:8000/;"; \
	echo "           first reviewer: $(BIN)/zhibiao user add NAME --admin --db sqlite:///var/zhibiao.sqlite)"; \
	exit $$status

lint: install
	$(BIN)/ruff check nlp tests bench
	$(BIN)/ruff format --check nlp tests bench

typecheck: install
	$(BIN)/mypy nlp

pytest: install system-deps
	$(BIN)/python -m pytest -q

test: install system-deps lint typecheck pytest

bench: install
	$(BIN)/python bench/bench_suggest.py
	$(BIN)/python bench/bench_cluster.py
	$(BIN)/python bench/bench_batch.py
	$(BIN)/python bench/load_suggest.py

clean:
	rm -rf $(VENV) var out models/*.joblib models/*.md
