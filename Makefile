# polyauth: one cargo target dir for core, the Python wheel and the Node addon (release profile
# everywhere, so `cargo test --release` reuses what the binding builds compiled).
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
# `napi build` always passes `--target <host>`, which puts its artefacts (and every dependency) in
# target/<triple>/; naming the same triple for maturin and cargo test makes all three builds share
# one set of compiled dependencies instead of building them twice.
export CARGO_BUILD_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
STAMP := $(VENV)/.deps-stamp
# The oldest FastAPI polyauth.fastapi supports, beside the newest in $(VENV) (requirements-dev.txt).
VENV_FASTAPI_OLDEST ?= .venv-fastapi-0115
STAMP_FASTAPI_OLDEST := $(VENV_FASTAPI_OLDEST)/.deps-stamp
WHEELS := $(CARGO_TARGET_DIR)/wheels-fastapi-oldest

.PHONY: all build build-python build-node example-next test test-rust test-python test-fastapi-oldest test-node dist test-dist demo demo-serve demo-languages bench fmt lint clean

all: build

$(STAMP): requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# `npm install` rather than `npm ci`: npm 11 rejects this lock file in `ci` over optional platform
# packages of @napi-rs/cli's dependencies that it records without a version; install honours the lock.
node_modules/.package-lock.json: package.json package-lock.json
	npm install --no-audit --no-fund

$(STAMP_FASTAPI_OLDEST): requirements-fastapi-0115.txt
	test -x $(VENV_FASTAPI_OLDEST)/bin/python || $(PYTHON) -m venv $(VENV_FASTAPI_OLDEST)
	$(VENV_FASTAPI_OLDEST)/bin/pip install --quiet --disable-pip-version-check -r requirements-fastapi-0115.txt
	touch $(STAMP_FASTAPI_OLDEST)

build-python: $(STAMP)
	$(VENV)/bin/maturin develop --release --quiet

build-node: node_modules/.package-lock.json
	npm run --silent build

# examples/next, the Next.js app tests-node/next-http.test.mjs builds and starts: its dependencies
# (Next.js, React), and a fresh copy of this package. Its .npmrc sets install-links (a copy, as from
# the registry, so Next.js keeps the native addon external); npm does not refresh such a copy when
# the package changes, so it is removed and copied again after every build (about 2 s).
example-next: build-node
	rm -rf examples/next/node_modules/polyauth
	cd examples/next && npm install --no-audit --no-fund

build: build-python build-node

test-rust:
	cargo test --release --workspace

# tests-python/test_better_auth_interop.py runs a real Better Auth server (tests-interop/better-auth)
# and installs its npm packages (better-auth, better-sqlite3, compiled from source: about 2 min)
# at its first run; under CI=true a missing npm or a failed install fails the run.
test-python: build-python
	$(PY) -m pytest -q tests-python

# The FastAPI tests again on FastAPI 0.115.x (requirements-fastapi-0115.txt). `maturin build` with
# the interpreter `maturin develop` used reuses its compiled crate (a couple of seconds): the abi3
# wheel goes into the second venv, so the Rust code is compiled once.
test-fastapi-oldest: build-python $(STAMP_FASTAPI_OLDEST)
	rm -rf $(WHEELS)
	$(VENV)/bin/maturin build --release --quiet --interpreter $(PY) --out $(WHEELS)
	$(VENV_FASTAPI_OLDEST)/bin/pip install --quiet --disable-pip-version-check --no-deps --force-reinstall \
	  $(WHEELS)/polyauth-*.whl
	$(VENV_FASTAPI_OLDEST)/bin/python -c 'import fastapi, polyauth; assert fastapi.__version__.startswith("0.115."), fastapi.__version__; assert "site-packages" in polyauth.__file__'
	$(VENV_FASTAPI_OLDEST)/bin/python -m pytest -q tests-python/test_fastapi_http.py \
	  tests-python/test_fastapi_flows.py tests-python/test_fastapi_example.py tests-python/test_readme.py

# Two files at a time: most of them wait on servers, Next.js builds and a browser, and node's
# default (cores - 1) runs them one by one on two cores.
test-node: build-node example-next
	node --test --test-concurrency=2 tests-node/

# What people install (the `dist` cargo profile: fat LTO, one codegen unit), in $(DIST):
# - an abi3 wheel for CPython >= 3.9, checked for manylinux compliance (maturin, then auditwheel
#   show), and an sdist;
# - the npm packages laid out as napi-rs publishes them (bindings-node/scripts/pack-npm.mjs):
#   polyauth (loader and TypeScript layers) and polyauth-linux-x64-gnu (the .node file).
# The dist build has its own target/<triple>/dist directory: it never replaces the development
# build the other tests use.
DIST ?= dist
dist: $(STAMP) build-node
	rm -rf $(DIST) && mkdir -p $(DIST)
	$(VENV)/bin/maturin build --profile dist --auditwheel check --interpreter $(PY) --out $(DIST)
	$(VENV)/bin/maturin sdist --out $(DIST)
	$(VENV)/bin/auditwheel show $(DIST)/polyauth-*.whl
	npx napi build --platform --profile dist --manifest-path bindings-node/Cargo.toml \
	  --package-json-path package.json --output-dir $(DIST)/napi --no-js --dts native.d.ts
	node bindings-node/scripts/pack-npm.mjs $(DIST)

# The artefacts installed into fresh projects outside the checkout (a venv, an npm project, a
# Next.js app), where the README's quickstarts run.
test-dist: dist
	POLYAUTH_DIST=$(CURDIR)/$(DIST) node --test tests-dist/

# The README's test command: everything, from a fresh clone.
test: build test-rust test-python test-fastapi-oldest test-node test-dist

# The full-stack app: examples/next (Next.js) and examples/fullstack/api.py (FastAPI) sharing one
# key set and one store, through a scripted Chromium journey (examples/fullstack/demo.mjs). It
# reuses the Node tests' `next build` of examples/next when the sources are the same (one build per
# CI run).
demo: build example-next
	node examples/fullstack/demo.mjs

# The same two servers, left running for a person to click through (Ctrl-C stops them).
demo-serve: build example-next
	node examples/fullstack/demo.mjs --serve

# Hashes, tokens, sessions and MFA enrollments made in one language used in the other.
demo-languages: build
	bash examples/cross-language/run.sh

# Writes bench/RESULTS.md (passwords), bench/RESULTS-tokens-sessions.md (tokens, sessions),
# bench/RESULTS-signin.md (the sign-in flow against raw verification), bench/RESULTS-fastapi.md
# (requests/s of a polyauth-protected FastAPI endpoint; needs wrk) and bench/RESULTS-next.md (the
# same for a Next.js route handler behind withAuth, against jose; needs wrk, installs
# bench/next-app's dependencies). bench/run.sh first rebuilds both bindings with the cargo `dist`
# profile (as published; BENCH_PROFILE=release for the development build), so every bench after
# it runs that build; `make build` puts the release build back.
bench: build
	bash bench/run.sh
	bash bench/run_more.sh
	bash bench/run_signin.sh
	bash bench/run_fastapi.sh
	bash bench/run_next.sh

fmt:
	cargo fmt --all
	$(VENV)/bin/ruff format bindings-python tests-python bench examples

# Unused dependencies of the three crates (cargo-machete reads the sources, so it needs no build);
# installed into ~/.cargo/bin on first use.
MACHETE_VERSION := 0.9.2
lint: $(STAMP) build-node
	cargo fmt --all -- --check
	cargo clippy --release --workspace -- -D warnings
	cargo clippy --release -p polyauth-core --all-targets --features engine-bench -- -D warnings
	command -v cargo-machete >/dev/null || cargo install --locked cargo-machete@$(MACHETE_VERSION)
	cargo machete
	$(VENV)/bin/ruff check bindings-python tests-python bench examples
	$(VENV)/bin/ruff format --check bindings-python tests-python bench examples
	$(VENV)/bin/mypy
	npx tsc -p bindings-node/tsconfig.json --noEmit

clean:
	rm -rf target bindings-node/dist bindings-node/*.node $(VENV) $(VENV_FASTAPI_OLDEST) node_modules \
	  examples/next/node_modules examples/next/.next bench/next-app/node_modules bench/next-app/.next \
	  tests-interop/better-auth/node_modules
