# syntax=docker/dockerfile:1
# The infermesh image: every service in one image, chosen by the first argument
# (registry, inference, monitor, recommender; see deploy/k8s).
#
#   CPU:  docker build -t ghcr.io/infermesh/infermesh:0.1.0 .
#   GPU:  docker build --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 \
#           --build-arg RUNTIME_IMAGE=<a CUDA 12 + cuDNN 9 runtime image with Node.js 20> \
#           -t ghcr.io/infermesh/infermesh:0.1.0-cuda12 .
#
# ONNXRUNTIME_NODE_INSTALL is read by onnxruntime-node's install script and wins
# over the repository's .npmrc (onnxruntime-node-install=skip): `skip` (default)
# keeps the CPU-only binaries bundled in the package; `cuda12` downloads the
# CUDA 12 execution provider at build time (the build machine needs to reach
# GitHub's release downloads; the running container never downloads anything).

ARG NODE_IMAGE=node:20.19-bookworm-slim
ARG RUNTIME_IMAGE=node:20.19-bookworm-slim

# ---- build: TypeScript and the generated proto types into dist/ --------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY protos ./protos
COPY cli ./cli
COPY services ./services
COPY shared ./shared
COPY bench ./bench
RUN npm run build

# ---- runtime: production dependencies, dist/ and protos/, a non-root user -------
FROM ${RUNTIME_IMAGE} AS runtime
ARG ONNXRUNTIME_NODE_INSTALL=skip
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Install scripts are skipped (the root's `prepare` would build again without the
# dev tools), then run for the three packages that need them.
RUN npm ci --omit=dev --ignore-scripts && ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL} npm rebuild better-sqlite3 onnxruntime-node protobufjs && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY protos ./protos
RUN groupadd --system --gid 10001 infermesh && useradd --system --uid 10001 --gid infermesh --home-dir /var/lib/infermesh --create-home infermesh
USER 10001:10001
ENV INFERMESH_DATA_DIR=/var/lib/infermesh
EXPOSE 8001 50051 50061 4317 16686 9464
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
