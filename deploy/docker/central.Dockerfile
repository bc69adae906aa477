# syntax=docker/dockerfile:1
# AIOps central: the same code as `npm run central` (tsx runs the TypeScript sources; tsx is a
# runtime dependency). Build from the repository root:
#   docker build -f deploy/docker/central.Dockerfile -t aiops/central:0.1.0 .
# NOTE: not built in this repository's CI or by its author (no container engine was available
# when it was written); the Kubernetes manifests in deploy/k8s expect this image.

FROM node:20-slim AS deps
WORKDIR /app
# Toolchain only for the case where better-sqlite3 / snappy have no prebuilt binary for this platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY shared-schemas ./shared-schemas
COPY central ./central
# A fixed non-root id (the manifests' runAsUser 10001); it owns nothing in the image.
RUN groupadd --system --gid 10001 aiops && useradd --system --uid 10001 --gid 10001 --no-create-home aiops \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/aiops-central
USER 10001:10001
EXPOSE 1883 7443 8080
ENTRYPOINT ["node", "--import", "tsx", "central/src/cli/central-cli.ts"]
CMD ["--config", "/etc/aiops-central/central.yaml"]
