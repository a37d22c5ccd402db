# spoa-iam as a sidecar container.
#   docker build -t spoa-iam .
#   docker run -v /etc/spoa-iam:/etc/spoa-iam:ro -p 127.0.0.1:12345:12345 spoa-iam
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libev-dev libcjson-dev \
      libcurl4-openssl-dev libssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSPOA_TESTS=OFF \
 && cmake --build build -j"$(nproc)"

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libev4 libcjson1 libcurl4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/spoa-iam --create-home spoa-iam
COPY --from=build /src/build/spoa-iam /usr/local/bin/spoa-iam
USER spoa-iam
VOLUME ["/var/lib/spoa-iam"]
EXPOSE 12345 9901
ENTRYPOINT ["/usr/local/bin/spoa-iam"]
CMD ["-c", "/etc/spoa-iam/config.json"]
