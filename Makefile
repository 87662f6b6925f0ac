# The two commands a newcomer needs:
#   make demo   a simulated Tianma Street day through the real pipeline
#   make test   every test (unit and integration on the real broker)
# Each installs what it needs: Python packages into .venv, the Kafka broker's
# jars through Maven (on first broker start), promtool from Debian's packages.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench chaos lint unit integration broker broker-stop topics schemas clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) system-deps

# Debian packages the project needs: a JDK and Maven for the broker, promtool
# for the alert rules, Chromium and a Chinese font for the console's browser
# tests (driven by Playwright through executable_path; Playwright's own browser
# download is never used). Installed only when missing (needs root, as on CI).
.PHONY: system-deps
system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "wenquanyi micro hei" || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

demo: install
	$(BIN)/gridwatch demo

# The benchmark at full size (1,000,000 residents, 1,000,000 events): about forty minutes on a 2-core machine.
bench: install
	$(BIN)/gridwatch bench --out bench-results/latest.json

# The fault campaign, every scenario once against one reference run: about twenty-five minutes.
chaos: install
	$(BIN)/gridwatch chaos all --out bench-results/chaos

test: install lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

integration: install
	$(BIN)/python -m pytest -m integration

broker: $(STAMP)
	bash infra/kafka/broker.sh start

broker-stop:
	bash infra/kafka/broker.sh stop

topics: $(STAMP)
	$(BIN)/gridwatch topics create

schemas: $(STAMP)
	$(BIN)/gridwatch schemas --out docs/schemas

clean:
	-bash infra/kafka/broker.sh stop
	rm -rf .data
