# Image with both binaries: `ingest` by default, `query` when given as the command.
# Build from the repository root: docker build -t reactions .

# The builder pins the toolchain the workspace is tested with; edition 2024 needs 1.85 or later.
FROM rust:1.95.0-slim-bookworm AS chef
# The label marks every stage built from this file, so CI can remove them all after a build.
LABEL org.opencontainers.image.title=reactions
# aws-lc-sys (rustls's crypto backend) can fall back to a CMake build; cmake keeps that path open.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# The recipe lists only manifests and the lock file, so the dependency layer below is rebuilt
# only when those change, not on every source edit.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p ingest -p query

FROM debian:12.11-slim AS runtime
LABEL org.opencontainers.image.title=reactions
# curl serves only the HEALTHCHECK below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/reactions reactions
COPY --from=builder /src/target/release/ingest /src/target/release/query /usr/local/bin/

# The binaries listen on loopback by default, which a container cannot publish.
ENV INGEST_LISTEN=0.0.0.0:8080 \
    QUERY_LISTEN=0.0.0.0:8081 \
    REACTIONS_DATA_DIR=/var/lib/reactions/data \
    LOG_FORMAT=json \
    RUST_LOG=info
USER reactions
WORKDIR /var/lib/reactions
EXPOSE 8080 8081

# Checks ingest's port unless HEALTHCHECK_URL names another, as the query service sets it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS --max-time 2 "${HEALTHCHECK_URL:-http://127.0.0.1:8080/healthz}" >/dev/null || exit 1

CMD ["ingest"]
