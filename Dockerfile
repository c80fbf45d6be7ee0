# syntax=docker/dockerfile:1
# The gitops-bot image (the default image of charts/gitops-bot). Build and push: docs/operations.md
#
#   docker build -t ghcr.io/<you>/gitops-bot:0.1.0 .
#
# Three stages: helm built from its Go module at the version the e2e tests use (verified against a
# pinned module checksum and the Go checksum database), the TypeScript build, and a slim runtime
# that runs as a non-root user and writes only to its two volumes (so readOnlyRootFilesystem works).
# test/unit/scripts/dockerfile.test.ts keeps this file consistent with package.json and the e2e tools.

# --- helm -----------------------------------------------------------------------------------------
# Built on the build machine's platform and cross-compiled for the target (CGO off), so a
# multi-arch build (`docker buildx build --platform linux/amd64,linux/arm64`) compiles at full speed.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS helm
# Same version as scripts/e2e-tools.mjs (HELM_VERSION). The h1: sum is helm.sh/helm/v4's go.sum
# line for that version: the download must have exactly it, and so must the binary's build info.
ARG HELM_VERSION=v4.3.1
ARG HELM_MODULE_SUM=h1:UndCoLe9UPmNoL7IvWzaUXveL7T5t/ijoorEmgJdI9g=
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# Mirrors: `--build-arg GOPROXY=https://goproxy.example.com` (ARGs are in the RUN environment).
ARG GOPROXY=https://proxy.golang.org,direct
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOSUMDB=sum.golang.org
WORKDIR /src
RUN go mod download -json "helm.sh/helm/v4@${HELM_VERSION}" > download.json \
 && grep -q "\"Sum\": \"${HELM_MODULE_SUM}\"" download.json \
 || { echo "helm.sh/helm/v4@${HELM_VERSION}: module checksum is not ${HELM_MODULE_SUM}" >&2; cat download.json >&2; exit 1; }
# The stamps helm's Makefile sets for a release tag (otherwise it reports "+unreleased").
RUN GOOS="${TARGETOS}" GOARCH="${TARGETARCH}" go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
      "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}" \
 && mkdir -p /out && find "$(go env GOPATH)/bin" -type f -name helm -exec cp {} /out/helm \; \
 && test "$(go version -m /out/helm | awk '$1 == "mod" { print $2, $3, $4 }')" = "helm.sh/helm/v4 ${HELM_VERSION} ${HELM_MODULE_SUM}" \
 && go version -m /out/helm | grep -q "GOARCH=${TARGETARCH}\$" \
 || { echo "helm: the built binary is not helm.sh/helm/v4 ${HELM_VERSION} (${HELM_MODULE_SUM}) for ${TARGETARCH}" >&2; exit 1; }

# --- build ----------------------------------------------------------------------------------------
FROM node:22-bookworm-slim AS build
# Mirror: `--build-arg npm_config_registry=https://npm.example.com/`.
ARG npm_config_registry=https://registry.npmjs.org/
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime --------------------------------------------------------------------------------------
FROM node:22-bookworm-slim
# git (+ ssh for ssh:// repos): the native git backend, docs/adr/0001-git-backend.md.
# tini: PID 1 that forwards SIGTERM to node and reaps the git/ssh processes git leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=helm /out/helm /usr/local/bin/helm
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json manifest.json ./
COPY examples ./examples
# The only writable paths: the bot's home (working clone, helm's caches, Teams/approval files) and
# /tmp. The chart mounts emptyDirs there; `docker run --read-only` gets anonymous volumes.
RUN mkdir -p /var/lib/gitops-bot /etc/gitops-bot && chown 10001:10001 /var/lib/gitops-bot
ENV NODE_ENV=production \
    HOME=/var/lib/gitops-bot \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/var/lib/gitops-bot/.cache \
    HELM_CACHE_HOME=/var/lib/gitops-bot/.cache/helm \
    HELM_CONFIG_HOME=/var/lib/gitops-bot/.config/helm \
    HELM_DATA_HOME=/var/lib/gitops-bot/.local/share/helm
VOLUME ["/var/lib/gitops-bot", "/tmp"]
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli.js"]
CMD ["serve", "--config", "/etc/gitops-bot/gitops-bot.yaml"]
