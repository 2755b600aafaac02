# syntax=docker/dockerfile:1
# Build with the dev dependencies (TypeScript), run with the production ones only, and no
# optional ones: recheck's native binary and Java jar (52 MB) are never used (its pure-JavaScript
# checker is; src/policy/pattern-check.ts).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY lua ./lua
# Any non-root UID works; the manifests run it as 65532 with a read-only root filesystem.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["serve"]
