# syntax=docker/dockerfile:1
# AIOps edge agent: the single executable of `npm run build:agent` (Node.js and the WebAssembly
# modules inside; no node_modules). Build from the repository root:
#   docker build -f deploy/docker/agent.Dockerfile -t aiops/agent:0.1.0 .
# NOTE: not built in this repository's CI or by its author (no container engine was available
# when it was written); the DaemonSet in deploy/k8s/common/agent.yaml expects this image.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build:agent    # -> dist/aiops-agent

# distroless/cc has glibc and libstdc++, which the Node.js binary inside the executable needs.
# Non-root: the host's /proc files the agent reads are world-readable (hostPID + a read-only mount).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/aiops-agent /usr/local/bin/aiops-agent
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/aiops-agent"]
CMD ["--config", "/etc/aiops-agent/agent.yaml"]
