# Container image of the Genesys listener (AudioHook server, notifications connector) for the template's
# Fargate service (parameter ListenerImage). Build for the stack's Architecture and push to ECR:
#   docker build -f infra/listener.Dockerfile --platform linux/amd64 -t <account>.dkr.ecr.<region>.amazonaws.com/call-analytics-listener:<tag> .
#   docker push <account>.dkr.ecr.<region>.amazonaws.com/call-analytics-listener:<tag>
# The task runs `listener audiohook` (and `listener connector` when enabled); both drain on SIGTERM.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
RUN cargo build --release --locked -p listener --features aws,whisper

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/listener listener \
    && mkdir -p /var/lib/listener && chown listener /var/lib/listener
COPY --from=build /src/target/release/listener /usr/local/bin/listener
USER listener
WORKDIR /var/lib/listener
ENV LOG_FORMAT=json
EXPOSE 9011
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/listener"]
CMD ["audiohook"]
