# spoa-iam container image: multi-stage, non-root, read-only-root friendly.
#
#   docker build -t spoa-iam .
#   docker run --read-only --network host \
#       -v /etc/spoa-iam:/etc/spoa-iam:ro \
#       -v spoa-iam-state:/var/lib/spoa-iam \
#       -v /run/spoa-iam:/run/spoa-iam \
#       spoa-iam
#
# Volumes: /etc/spoa-iam (config.json, read-only, mounted by you),
# /var/lib/spoa-iam (state_dir: last good keys/policy for a cold start),
# /run/spoa-iam (the unix socket, shared with HAProxy).  Nothing else is
# written, so --read-only (Kubernetes readOnlyRootFilesystem) works.
# The process runs as uid/gid 10001 with umask 0007: a unix socket it
# creates is usable by its group (Kubernetes: fsGroup 10001, see
# haproxy-conf/kubernetes-sidecar.yaml).
#
# BASE is any Debian 12 image: debian:12-slim from a registry, or a local
# one (tests/integration/test_docker_image.py builds it with debootstrap
# and docker import, where no registry is reachable).
ARG BASE=debian:12-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libev-dev libcjson-dev \
      libcurl4-openssl-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the agent is built from: a change to the tests or the docs
# does not rebuild it.
COPY CMakeLists.txt ./
COPY spoe spoe
COPY agent agent
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPOA_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target spoa-iam \
 && install -D -m 0755 -s /build/spoa-iam /out/spoa-iam \
 && /out/spoa-iam --version

FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
# The agent's runtime libraries (ldd build/spoa-iam), the CA bundle for
# its fetches, and curl for the health check and Kubernetes exec probes
# (curl costs little: it is a front end of libcurl4, which the agent needs).
# No documentation, manual pages or translations in the image (as in
# debian:12-slim; licences are kept).
RUN printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
      'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' \
      'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/lintian/*' \
      > /etc/dpkg/dpkg.cfg.d/spoa-iam-nodoc \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      libev4 libcjson1 libcurl4 libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 spoa-iam \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/spoa-iam \
      --no-create-home --shell /usr/sbin/nologin spoa-iam \
 && install -d -m 0755 /etc/spoa-iam \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/spoa-iam \
 && install -d -o 10001 -g 10001 -m 0770 /run/spoa-iam
COPY --from=build /out/spoa-iam /usr/local/bin/spoa-iam
USER 10001:10001
VOLUME ["/var/lib/spoa-iam", "/run/spoa-iam"]
EXPOSE 12345 9901
# admin_listen of the config: the health check (and the Kubernetes probes)
# ask /healthz there from inside the container.  Change both together.
ENV SPOA_IAM_ADMIN=127.0.0.1:9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS -m 2 -o /dev/null "http://${SPOA_IAM_ADMIN}/healthz" || exit 1
# exec form: spoa-iam is PID 1 and gets SIGTERM (drain) and SIGHUP (reload)
# itself; sh only sets the umask and is replaced by it.
ENTRYPOINT ["/bin/sh", "-c", "umask 0007 && exec /usr/local/bin/spoa-iam \"$@\"", "spoa-iam"]
CMD ["-c", "/etc/spoa-iam/config.json"]
