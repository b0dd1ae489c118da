# pydive's container image: a static pydive (musl) on a minimal base that has CA certificates
# and no shell, running as a non-root user. Build with BuildKit (Docker's default builder since
# 23.0; DOCKER_BUILDKIT=1 before that):
#
#   docker build -t pydive .
#
# Build arguments:
#   RUST_IMAGE     the toolchain image of the build stage
#   RUNTIME_IMAGE  the base of the result; distroless/static suits the static binary, and a
#                  slim glibc base (e.g. debian:bookworm-slim) suits a glibc build
#   PYDIVE_BINARY  "source" builds from this directory; "context" takes a prebuilt binary
#                  named `pydive` from the build context instead (BuildKit skips the other)
ARG RUST_IMAGE=docker.io/library/rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
ARG PYDIVE_BINARY=source

FROM ${RUST_IMAGE} AS from-source
# The musl target makes a static binary; where it cannot be installed, the glibc build is
# taken (then use a glibc RUNTIME_IMAGE).
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && (rustup target add "$(uname -m)-unknown-linux-musl" || true)
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(uname -m)-unknown-linux-musl"; \
    if rustup target list --installed | grep -qx "$target"; then \
      cargo build --release --locked --target "$target" \
      && install -D "target/$target/release/pydive" /out/pydive; \
    else \
      cargo build --release --locked && install -D target/release/pydive /out/pydive; \
    fi

FROM scratch AS from-context
COPY pydive /out/pydive

FROM from-${PYDIVE_BINARY} AS binary

FROM ${RUNTIME_IMAGE}
COPY --from=binary /out/pydive /usr/local/bin/pydive
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/pydive"]
